"""Explaining the next token of tiny causal LMs (GPT-2, BERT as a decoder, Llama-like) and an encoder-decoder's
first token: gradient x input against a hand-made hook + autograd at the stated layer, IG's completeness,
contrast linearity, token naming, and one clear line for what cannot be explained yet."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.explain.attribution import ExplainOptions, explain
from lmstudio_app.core.explain.layer import attribution_point
from lmstudio_app.core.explain.next_token import token_id
from lmstudio_app.core.models.family import CausalAdapter
from lmstudio_app.core.models.registry import ModelRegistry

PROMPT = "the old man opened the door and the dog"
# Where each kind is attributed: its embeddings module's output (BERT), else its first block's input.
LAYERS = {
    "gpt2": ("transformer.h.0 input (from wte + wpe)", "transformer.h.0", True),
    "bert-clm": ("bert.embeddings output (after LayerNorm)", "bert.embeddings", False),
    "llama": ("model.layers.0 input (from embed_tokens)", "model.layers.0", True),
    "t5": ("encoder.block.0 input (from embed_tokens)", "encoder.block.0", True),
}


@pytest.fixture(scope="module")
def models(tiny_decoder) -> dict:
    registry = ModelRegistry()
    return {kind: registry.load(str(tiny_decoder(kind))) for kind in LAYERS}


def _inputs(loaded, kind: str, text: str) -> dict:
    """The model's inputs built here, not by the adapter: BOS + the prompt, or the source and start token."""
    tok = loaded.tokenizer
    if kind == "t5":
        ids = tok(text, return_tensors="pt")["input_ids"]
        start = loaded.model.config.decoder_start_token_id
        return {"input_ids": ids, "decoder_input_ids": torch.tensor([[start]])}
    return {
        "input_ids": torch.tensor([[tok.bos_token_id, *tok(text, add_special_tokens=False)["input_ids"]]])
    }


def _by_hand(loaded, kind: str, text: str, a: int, b: int | None = None) -> tuple[np.ndarray, float]:
    """(gradient x input summed per token at the stated layer, log P(a) [- log P(b)]) with a plain hook."""
    _, path, at_input = LAYERS[kind]
    module = loaded.model.get_submodule(path)
    seen = {}

    def keep(t):
        t.retain_grad()
        seen["x"] = t

    if at_input:
        hook = module.register_forward_pre_hook(lambda _m, args: keep(args[0]))
    else:
        hook = module.register_forward_hook(lambda _m, _a, out: keep(out))
    try:
        with torch.enable_grad():
            logits = loaded.model(**_inputs(loaded, kind, text)).logits[0, -1]
            logp = logits.float().log_softmax(-1)
            f = logp[a] - (logp[b] if b is not None else 0.0)
            f.backward()
    finally:
        hook.remove()
        loaded.model.zero_grad(set_to_none=True)
    x = seen["x"]
    return (x.grad * x).sum(-1)[0].detach().numpy().astype(np.float64), float(f.detach())


def _predicted(loaded, kind: str, text: str) -> int:
    with torch.no_grad():
        return int(loaded.model(**_inputs(loaded, kind, text)).logits[0, -1].argmax())


@pytest.mark.parametrize("kind", list(LAYERS))
def test_gradient_x_input_equals_a_hand_made_hook(models, kind):
    loaded = models[kind]
    result = explain(loaded, PROMPT, ExplainOptions(method="gradxinput"))
    a = _predicted(loaded, kind, PROMPT)
    expected, f = _by_hand(loaded, kind, PROMPT, a)
    assert result.kind == "next-token" and result.layer == LAYERS[kind][0]
    assert result.details["target"]["id"] == a
    assert result.target == loaded.tokenizer.decode([a]).strip()
    assert result.output == pytest.approx(f, abs=1e-5)
    assert np.abs(expected).max() > 1e-7  # the gradients reach the tokens at all
    np.testing.assert_allclose(result.token_scores, expected, rtol=1e-4, atol=1e-7)
    ids = _inputs(loaded, kind, PROMPT)["input_ids"][0].tolist()
    assert result.tokens == loaded.tokenizer.convert_ids_to_tokens(ids)
    assert result.words.words == PROMPT.split()  # BOS / </s> belong to no word


@pytest.mark.parametrize("kind", ["gpt2", "bert-clm", "t5"])
def test_integrated_gradients_complete_for_the_next_token(models, kind):
    loaded = models[kind]
    target = "cat"
    result = explain(loaded, PROMPT, ExplainOptions(method="ig", steps=64, candidate=target))
    a = token_id(loaded, target)
    assert result.details["target"] == {"id": a, "token": "cat"}
    _, f = _by_hand(loaded, kind, PROMPT, a)
    assert result.output == pytest.approx(f, abs=1e-5)
    inputs = _inputs(loaded, kind, PROMPT)  # the baseline: every prompt token -> [PAD], BOS and </s> kept
    ids = inputs["input_ids"]
    keep = torch.tensor([[i in loaded.tokenizer.all_special_ids for i in ids[0].tolist()]])
    inputs["input_ids"] = torch.where(keep, ids, loaded.tokenizer.pad_token_id)
    with torch.no_grad():
        fb = float(loaded.model(**inputs).logits[0, -1].log_softmax(-1)[a])
    assert result.baseline_output == pytest.approx(fb, abs=1e-5)
    gap = result.output - result.baseline_output
    assert abs(gap) > 1e-3
    assert float(np.sum(result.token_scores)) == pytest.approx(gap, abs=max(0.05 * abs(gap), 1e-4))
    assert abs(float(np.sum(result.token_scores)) - gap - result.delta) < 1e-4


@pytest.mark.parametrize("kind", ["gpt2", "bert-clm"])
def test_contrast_is_the_difference_of_two_explanations(models, kind):
    loaded = models[kind]
    both = explain(loaded, PROMPT, ExplainOptions(method="gradxinput", candidate="ran", versus="sat"))
    one = explain(loaded, PROMPT, ExplainOptions(method="gradxinput", candidate="ran"))
    other = explain(loaded, PROMPT, ExplainOptions(method="gradxinput", candidate="sat"))
    assert both.target == "ran vs sat" and both.details["versus"]["token"] == "sat"
    np.testing.assert_allclose(both.token_scores, one.token_scores - other.token_scores, atol=1e-6)
    with torch.no_grad():
        logits = loaded.model(**_inputs(loaded, kind, PROMPT)).logits[0, -1]
    a, b = token_id(loaded, "ran"), token_id(loaded, "sat")
    assert both.output == pytest.approx(float(logits[a] - logits[b]), abs=1e-4)  # log-ratio = logit gap
    json = both.to_json()
    assert json["target"]["id"] == a and json["versus"]["id"] == b and json["layer"] == LAYERS[kind][0]


def test_rollout_follows_the_last_position_of_a_causal_lm(models):
    result = explain(models["gpt2"], PROMPT, ExplainOptions(method="rollout"))
    assert len(result.token_scores) == len(result.tokens) and result.layer is None
    assert float(np.sum(result.token_scores)) == pytest.approx(1.0, abs=1e-5)  # the last row of a rollout


def test_a_byte_level_token_is_named_as_it_follows_the_prompt():
    """GPT-2-style vocabularies spell a word after a space with Ġ: "cat" means "Ġcat" when it is one piece."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        ["the cat sat on the mat", "a cat and a dog"] * 20, vocab_size=300, min_frequency=1
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer)
    loaded = type("Loaded", (), {"tokenizer": tokenizer, "name": "bpe"})()
    assert tokenizer.convert_ids_to_tokens(token_id(loaded, "cat")) == "Ġcat"
    assert tokenizer.convert_ids_to_tokens(token_id(loaded, "Ġdog")) == "Ġdog"


def test_what_cannot_be_explained_is_one_line(models):
    with pytest.raises(UserError, match="cannot explain it yet") as info:
        explain(models["t5"], PROMPT, ExplainOptions(method="rollout"))
    with pytest.raises(UserError, match="not one token") as other:
        explain(models["gpt2"], PROMPT, ExplainOptions(method="gradxinput", candidate="xylophone"))
    with pytest.raises(UserError, match="against itself") as same:
        explain(models["gpt2"], PROMPT, ExplainOptions(method="gradxinput", candidate="cat", versus="cat"))

    class Blockless(torch.nn.Module):  # a decoder whose layers are no list of blocks
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(10, 4)
            self.base_model = self

        def get_input_embeddings(self) -> torch.nn.Module:
            return self.embed

    with pytest.raises(UserError, match="cannot be explained yet") as blockless:
        attribution_point(CausalAdapter(Blockless(), None))
    for error in (info, other, same, blockless):
        assert "\n" not in str(error.value)
