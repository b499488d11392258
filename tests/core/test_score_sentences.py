"""Sentence scores against direct computations: PLL (one forward per masked copy), pll-word, the chain rule.

Why: the batched, chunked, head-only-at-the-mask scorer must give exactly the numbers of the textbook
procedure, and the shipped minilm-mlm must reproduce minicons' reference values (PRODUCT_NOTES).
"""

from __future__ import annotations

import math

import pytest
import torch
from tiny_models import tiny_gpt2
from transformers import AutoTokenizer, BertForMaskedLM, BertModel

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.score.sentences import default_method, score_sentences
from lmstudio_app.core.tasks import Cancelled, TaskState

SENTENCES = ["the cats played with a dog.", "she drank tea in the house."]


@pytest.fixture(scope="module")
def mlm(tiny_model):
    path = tiny_model("mlm")
    return BertForMaskedLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def _direct_pll(model, tokenizer, text: str, by_word: bool = False) -> list[float]:
    """Per non-special token: mask it (and, by word, the later pieces of its word), one forward each."""
    enc = tokenizer(text)
    ids, words = enc["input_ids"], enc.word_ids()
    out = []
    for p in range(1, len(ids) - 1):  # [CLS] ... [SEP]
        row = torch.tensor([ids])
        row[0, p] = tokenizer.mask_token_id
        if by_word:
            for q in range(p + 1, len(ids)):
                if words[q] is not None and words[q] == words[p]:
                    row[0, q] = tokenizer.mask_token_id
        with torch.no_grad():
            log_probs = model(input_ids=row).logits[0, p].log_softmax(-1)
        out.append(float(log_probs[ids[p]]))
    return out


def test_pll_equals_one_forward_per_mask(mlm) -> None:
    model, tokenizer = mlm
    for got, text in zip(score_sentences(model, tokenizer, SENTENCES), SENTENCES, strict=True):
        expected = _direct_pll(model, tokenizer, text)
        assert got.method == "pll"
        assert [t.log_prob for t in got.tokens] == pytest.approx(expected, abs=1e-5)
        assert got.log_prob == pytest.approx(sum(expected), abs=1e-5)


def test_chunks_of_two_rows_give_the_same_numbers(mlm) -> None:
    whole = score_sentences(*mlm, SENTENCES, top_k=3)
    chunked = score_sentences(*mlm, SENTENCES, top_k=3, max_batch=2)
    for a, b in zip(whole, chunked, strict=True):
        assert [t.log_prob for t in a.tokens] == pytest.approx([t.log_prob for t in b.tokens], abs=1e-5)
        assert [t.rank for t in a.tokens] == [t.rank for t in b.tokens]


def test_pll_word_differs_from_pll_exactly_on_the_earlier_pieces_of_a_word(mlm) -> None:
    model, tokenizer = mlm
    text = "the cats played with the dogs."
    assert tokenizer.tokenize(text) == ["the", "cat", "##s", "played", "with", "the", "dog", "##s", "."]
    plain = [t.log_prob for t in score_sentences(model, tokenizer, [text], "pll")[0].tokens]
    word = [t.log_prob for t in score_sentences(model, tokenizer, [text], "pll-word")[0].tokens]
    assert word == pytest.approx(_direct_pll(model, tokenizer, text, by_word=True), abs=1e-5)
    differs = [abs(a - b) > 1e-6 for a, b in zip(plain, word, strict=True)]
    assert differs == [False, True, False, False, False, False, True, False, False]  # "cat", "dog"


def test_a_head_that_cannot_run_on_positions_alone_gives_the_same_numbers(mlm) -> None:
    """DistilBERT's head is several modules: the scorer runs the whole model instead."""
    from transformers import DistilBertConfig, DistilBertForMaskedLM

    _, tokenizer = mlm
    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=2, hidden_dim=64)
    model = DistilBertForMaskedLM(config).eval()
    got = score_sentences(model, tokenizer, [SENTENCES[0]])[0]
    assert [t.log_prob for t in got.tokens] == pytest.approx(
        _direct_pll(model, tokenizer, SENTENCES[0]), abs=1e-5
    )


def test_token_figures_add_up(mlm) -> None:
    model, tokenizer = mlm
    score = score_sentences(model, tokenizer, [SENTENCES[0]], top_k=4)[0]
    assert score.log_prob == pytest.approx(sum(t.log_prob for t in score.tokens), abs=1e-9)
    assert score.mean_log_prob == pytest.approx(score.log_prob / len(score.tokens))
    assert score.perplexity == pytest.approx(math.exp(-score.mean_log_prob))
    enc = tokenizer(SENTENCES[0])["input_ids"]
    assert [t.token for t in score.tokens] == tokenizer.convert_ids_to_tokens(enc[1:-1])  # specials never
    for p, token in enumerate(score.tokens, 1):
        assert token.surprisal_bits == pytest.approx(-token.log_prob / math.log(2))
        row = torch.tensor([enc])
        row[0, p] = tokenizer.mask_token_id
        with torch.no_grad():
            log_probs = model(input_ids=row).logits[0, p].log_softmax(-1)
        assert token.rank == 1 + int((log_probs > log_probs[enc[p]]).sum())
        assert len(token.top) == 4 and token.top[0][1] == pytest.approx(
            float(log_probs.max().exp()), abs=1e-6
        )
        assert [p for _, p in token.top] == sorted((p for _, p in token.top), reverse=True)
    data = score.to_json()
    assert set(data) == {"text", "log_prob", "mean_log_prob", "perplexity", "tokens"}
    assert set(data["tokens"][0]) == {"token", "log_prob", "surprisal_bits", "rank", "top"}
    assert set(data["tokens"][0]["top"][0]) == {"token", "prob"}


def test_minilm_mlm_reproduces_minicons() -> None:
    from lmstudio_app.core.models.registry import ModelRegistry

    loaded = ModelRegistry().load("minilm-mlm", "cpu", "float32")
    texts = [
        "the keys to the cabinet are on the table.",
        "the cat sat on the mat.",
        "espresso is a strong coffee.",
    ]
    pll = [s.log_prob for s in score_sentences(loaded.model, loaded.tokenizer, texts, "pll", top_k=0)]
    word = [s.log_prob for s in score_sentences(loaded.model, loaded.tokenizer, texts, "pll-word", top_k=0)]
    assert pll == pytest.approx([-33.2704, -27.5387, -37.4941], abs=1e-3)
    assert word == pytest.approx([-33.2704, -27.5387, -39.5950], abs=1e-3)


@pytest.mark.parametrize("bos", [True, False])
def test_chain_equals_the_chain_rule_computed_directly(bos: bool) -> None:
    model, tokenizer = tiny_gpt2(bos=bos)
    text = "the cat sat on the mat ."
    ids = tokenizer(text)["input_ids"]
    context = [tokenizer.bos_token_id, *ids] if bos else ids
    with torch.no_grad():
        log_probs = model(input_ids=torch.tensor([context])).logits[0].log_softmax(-1)
    expected = [float(log_probs[i - 1, context[i]]) for i in range(1, len(context))]
    assert default_method(model) == "chain"
    score = score_sentences(model, tokenizer, [text])[0]
    assert score.method == "chain"
    assert len(score.tokens) == (len(ids) if bos else len(ids) - 1)  # no BOS: the first word has no context
    assert [t.log_prob for t in score.tokens] == pytest.approx(expected, abs=1e-5)
    assert score.log_prob == pytest.approx(sum(expected), abs=1e-5)
    assert [t.token for t in score.tokens] == text.split()[(0 if bos else 1) :]


def test_methods_follow_the_model_family(mlm, tiny_model) -> None:
    model, tokenizer = mlm
    assert default_method(model) == "pll"
    with pytest.raises(UserError, match="needs a causal"):
        score_sentences(model, tokenizer, ["the cat sat."], "chain")
    gpt2, gpt2_tokenizer = tiny_gpt2()
    with pytest.raises(UserError, match="needs a masked"):
        score_sentences(gpt2, gpt2_tokenizer, ["the cat sat."], "pll")
    encoder = BertModel.from_pretrained(tiny_model("encoder"))
    with pytest.raises(UserError, match="no language-model head.*masked-LM"):
        default_method(encoder)


@pytest.mark.parametrize("texts", [[], [""], ["the cat sat.", "   "]])
def test_empty_sentences_are_refused(mlm, texts: list[str]) -> None:
    with pytest.raises(UserError, match="empty|No sentence"):
        score_sentences(*mlm, texts)


def test_cancel_stops_between_chunks(mlm) -> None:
    state = TaskState()
    state.request_stop()
    with pytest.raises(Cancelled):
        score_sentences(*mlm, SENTENCES, state=state)


@pytest.mark.parametrize("kind", ["t5", "bart"])
def test_conditional_equals_the_decoder_chain_rule_given_the_source(tiny_decoder, kind: str) -> None:
    """Encoder-decoders: log P(target | source), each target token read off the decoder fed the target
    shifted right behind the model's start token; special tokens (the end token) are not scored."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    folder = tiny_decoder(kind)
    model, tokenizer = (
        AutoModelForSeq2SeqLM.from_pretrained(folder).eval(),
        AutoTokenizer.from_pretrained(folder),
    )
    source, text = "the dog ran", "the cat sat on the mat"
    target = tokenizer(text_target=text, return_special_tokens_mask=True)
    ids, special = target["input_ids"], target["special_tokens_mask"]
    decoder_input = [model.config.decoder_start_token_id, *ids[:-1]]
    with torch.no_grad():
        log_probs = (
            model(
                input_ids=tokenizer(source, return_tensors="pt").input_ids,
                decoder_input_ids=torch.tensor([decoder_input]),
            )
            .logits[0]
            .log_softmax(-1)
        )
    expected = [float(log_probs[i, ids[i]]) for i in range(len(ids)) if not special[i]]
    assert default_method(model) == "conditional"
    score = score_sentences(model, tokenizer, [text], source=source)[0]
    assert score.method == "conditional" and len(expected) == len(text.split())
    assert [t.log_prob for t in score.tokens] == pytest.approx(expected, abs=1e-5)
    other = score_sentences(model, tokenizer, [text], source="a bird flew")[0]
    assert other.log_prob != pytest.approx(score.log_prob, abs=1e-6)  # the source is really read
    with pytest.raises(UserError, match="needs a masked"):
        score_sentences(model, tokenizer, [text], "pll")
