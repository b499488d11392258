"""Masked-word prediction on tiny real models, checked against direct logits and the HF pipeline."""

from __future__ import annotations

import math

import pytest
import torch
import transformers

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.fillmask.predict import fill_mask
from lmstudio_app.core.fillmask.text import fill_text, find_masks, require_masks
from lmstudio_app.core.tasks import Cancelled, TaskState


@pytest.fixture(scope="module")
def mlm(tiny_model):
    path = tiny_model("mlm")
    return transformers.AutoModelForMaskedLM.from_pretrained(
        path
    ).eval(), transformers.AutoTokenizer.from_pretrained(path)


@pytest.fixture(scope="module")
def pretraining(tiny_model):
    path = tiny_model("pretraining")
    model = transformers.AutoModelForPreTraining.from_pretrained(path).eval()
    return model, transformers.AutoTokenizer.from_pretrained(path)


def _probs(model, tokenizer, text: str) -> tuple[list[int], torch.Tensor]:
    """Full-vocabulary probabilities at every position, straight from model(...)."""
    enc = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc)
    logits = out.logits if hasattr(out, "logits") else out.prediction_logits
    return enc["input_ids"][0].tolist(), logits[0].softmax(-1)


@pytest.mark.parametrize("which", ["mlm", "pretraining"])
def test_predictions_match_direct_logits(which, request) -> None:
    model, tok = request.getfixturevalue(which)
    text = "The cat sat on the [MASK]."
    result = fill_mask(model, tok, text, top_k=7)
    ids, probs = _probs(model, tok, text)
    at = ids.index(tok.mask_token_id)
    values, top = probs[at].topk(7)
    (mask,) = result.masks
    assert [c.token_ids[0] for c in mask.candidates] == top.tolist()
    assert [c.score for c in mask.candidates] == pytest.approx(values.tolist(), abs=1e-6)
    assert [c.token for c in mask.candidates] == [tok.decode([t]) or f"[id {t}]" for t in top.tolist()]


def test_independent_mode_equals_the_pipeline_on_several_masks(mlm) -> None:
    model, tok = mlm
    text = "The [MASK] sat on the [MASK] and drank [MASK]."
    ours = fill_mask(model, tok, text, top_k=5, mode="independent")
    theirs = transformers.pipeline("fill-mask", model=model, tokenizer=tok)(text, top_k=5)
    assert [m.index for m in ours.masks] == [0, 1, 2]
    for mine, ref in zip(ours.masks, theirs, strict=True):
        assert [c.token_ids[0] for c in mine.candidates] == [d["token"] for d in ref]
        # Same words (ids the tiny tokenizer cannot spell: the pipeline shows "", we show "[id N]").
        for c, d in zip(mine.candidates, ref, strict=True):
            assert c.token == (d["token_str"] or f"[id {d['token']}]")
        assert [c.score for c in mine.candidates] == pytest.approx([d["score"] for d in ref], abs=1e-6)


def test_either_mask_spelling_works(mlm) -> None:
    model, tok = mlm
    a = fill_mask(model, tok, "the cat sat on the [MASK].")
    b = fill_mask(model, tok, "the cat sat on the <mask>.")
    assert [c.token for c in a.masks[0].candidates] == [c.token for c in b.masks[0].candidates]


def test_joint_score_is_the_product_of_its_steps_and_steps_are_real(pretraining) -> None:
    model, tok = pretraining
    text = "The [MASK] sat on the [MASK]."
    result = fill_mask(model, tok, text, mode="joint", sentences=4)
    assert 1 <= len(result.sentences) <= 4
    scores = [s.score for s in result.sentences]
    assert scores == sorted(scores, reverse=True)
    for sentence in result.sentences:
        assert sentence.score == pytest.approx(math.prod(sentence.steps), rel=1e-12)
        assert "[MASK]" not in sentence.text and sentence.text.endswith(".")
    # Replay the best sentence's path with plain model calls: each step's probability is what the model says.
    best = result.sentences[0]
    ids = tok(text.replace("[MASK]", tok.mask_token))["input_ids"]
    positions = [i for i, t in enumerate(ids) if t == tok.mask_token_id]
    for step, piece in zip(best.steps, best.order, strict=True):
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).prediction_logits[0]
        position, token = positions[piece], best.token_ids[piece]
        assert logits[position].softmax(-1)[token].item() == pytest.approx(step, rel=1e-4)
        ids[position] = token
    # The first step is the most confident mask: its top probability (special tokens, which never fill a
    # sentence, left out) beats the other mask's top.
    _, probs = _probs(model, tok, text)
    spelled = tok.convert_ids_to_tokens(list(range(probs.shape[-1])))
    probs[:, [i for i, t in enumerate(spelled) if t is None or i in tok.all_special_ids]] = 0
    tops = [probs[p].max().item() for p in positions]
    assert best.order[0] == max(range(2), key=lambda i: tops[i])
    assert result.to_json("tiny")["sentences"][0] == {"text": best.text, "score": best.score}


def test_whole_words_hide_pieces(mlm) -> None:
    model, tok = mlm
    text = "the dog was play [MASK]."
    everything = fill_mask(model, tok, text, top_k=60)
    words = fill_mask(model, tok, text, top_k=60, whole_words=True)
    assert any(c.token.startswith("##") for c in everything.masks[0].candidates)
    assert not any(c.token.startswith("##") or c.subword for c in words.masks[0].candidates)
    assert not any(c.token in tok.all_special_tokens for c in words.masks[0].candidates)
    # Hiding pieces keeps the true probabilities (no renormalisation).
    plain = {c.token: c.score for c in everything.masks[0].candidates}
    for c in words.masks[0].candidates:
        if c.token in plain:
            assert c.score == pytest.approx(plain[c.token])


def test_mask_of_several_pieces_is_decoded_as_one_word(mlm) -> None:
    model, tok = mlm
    result = fill_mask(model, tok, "the [MASK]x2 sat on the mat.", top_k=4)
    (mask,) = result.masks
    assert mask.span.pieces == 2 and len(mask.candidates) == 4
    for c in mask.candidates:
        first, second = tok.convert_ids_to_tokens(list(c.token_ids))
        assert not first.startswith("##") and second.startswith("##")
        assert c.token == first + second[2:]
    scores = [c.score for c in mask.candidates]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] < 1


def test_multi_piece_target_is_scored_by_the_chain_rule(mlm) -> None:
    model, tok = mlm
    text = "the cat sat on the [MASK]."
    result = fill_mask(model, tok, text, targets=["dogs", "mat", "qzxj"])
    by_word = {t.word: t for t in result.targets}
    assert by_word["dogs"].pieces == ("dog", "##s")
    # Direct: P(dog | the cat sat on the [MASK][MASK].) * P(##s | ... dog [MASK].)
    dog, s = tok.convert_tokens_to_ids(["dog", "##s"])
    ids, probs = _probs(model, tok, "the cat sat on the [MASK][MASK].")
    at = ids.index(tok.mask_token_id)
    p_dog = probs[at, dog].item()
    ids[at] = dog
    with torch.no_grad():
        p_s = model(input_ids=torch.tensor([ids])).logits[0, at + 1].softmax(-1)[s].item()
    assert by_word["dogs"].score == pytest.approx(p_dog * p_s, rel=1e-4)
    # The pipeline would score "dogs" by "dog" alone at a single mask; ours is a different, proper number.
    _, single = _probs(model, tok, text)
    assert by_word["dogs"].score != pytest.approx(single[at, dog].item(), rel=1e-3)
    # One-piece target: its probability and rank are those of the candidate list.
    ranked = single[at].argsort(descending=True).tolist()
    mat = tok.convert_tokens_to_ids("mat")
    assert by_word["mat"].score == pytest.approx(single[at, mat].item(), rel=1e-5)
    assert by_word["mat"].rank == ranked.index(mat) + 1
    assert by_word["qzxj"].score is None and "vocabulary" in by_word["qzxj"].note


def test_masks_are_found_and_filled_in_text_order() -> None:
    text = "A [MASK] and <mask>x3 then [mask]."
    spans = find_masks(text)
    assert [s.pieces for s in spans] == [1, 3, 1]
    assert fill_text(text, spans, {0: "dog", 1: "espresso", 2: "##ing"}) == "A dog and espresso then ing."
    assert fill_text(text, spans, {1: "x"}) == "A [MASK] and x then [mask]."


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), ("   ", "empty"), ("no mask here", "No mask"), ("a [MASK]x9 b", "1 to 6")],
)
def test_bad_text_is_a_user_error(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        require_masks(text)


def test_errors_say_what_to_do(mlm, tiny_model) -> None:
    model, tok = mlm
    with pytest.raises(UserError, match="No mask"):
        fill_mask(model, tok, "the cat sat")
    with pytest.raises(UserError, match="top-k"):
        fill_mask(model, tok, "the [MASK]", top_k=0)
    with pytest.raises(UserError, match="mode"):
        fill_mask(model, tok, "the [MASK]", mode="greedy")
    with pytest.raises(UserError, match="at most 128"):
        fill_mask(model, tok, "the cat " * 80 + "[MASK]")
    with pytest.raises(UserError, match="Joint mode fills at most"):
        fill_mask(model, tok, "[MASK]x6 [MASK]x6 [MASK]", mode="joint")
    encoder = transformers.AutoModel.from_pretrained(tiny_model("encoder"))
    with pytest.raises(UserError, match="tiny-encoder has no masked-LM head"):
        fill_mask(encoder, tok, "the [MASK]", name="tiny-encoder")


def test_a_newer_request_can_stop_an_older_one(mlm) -> None:
    model, tok = mlm
    state = TaskState()
    state.request_stop()
    with pytest.raises(Cancelled):
        fill_mask(model, tok, "the [MASK] sat on the [MASK].", mode="joint", state=state)


def test_real_minilm_sized_model_matches_direct_logits(minilm_dir) -> None:
    """6 layers x 12 heads: the last-layer-at-masks shortcut gives the model's own numbers."""
    transformers.utils.logging.set_verbosity_error()
    torch.manual_seed(0)
    model = transformers.BertForMaskedLM.from_pretrained(minilm_dir).eval()
    tok = transformers.AutoTokenizer.from_pretrained(minilm_dir)
    text = "Paris is the [MASK] of France, and London is the [MASK] of England."
    result = fill_mask(model, tok, text, top_k=5)
    ids, probs = _probs(model, tok, text)
    positions = [i for i, t in enumerate(ids) if t == tok.mask_token_id]
    for mask, position in zip(result.masks, positions, strict=True):
        values, top = probs[position].topk(5)
        assert [c.token_ids[0] for c in mask.candidates] == top.tolist()
        assert [c.score for c in mask.candidates] == pytest.approx(values.tolist(), rel=1e-4, abs=1e-7)
