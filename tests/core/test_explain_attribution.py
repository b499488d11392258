"""Token attribution on tiny real models: IG's completeness, gradient x input, rollout, words, errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from explain_helpers import embeddings_output_grad

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.explain import inputs as ins
from lmstudio_app.core.explain.attribution import ExplainOptions, explain
from lmstudio_app.core.models.registry import ModelRegistry


@pytest.fixture(scope="module")
def registry(tiny_model) -> ModelRegistry:
    reg = ModelRegistry()
    for kind in ("classifier", "mlm", "encoder"):
        reg.load(str(tiny_model(kind)), duplicate="copy")
    return reg


def _model(registry: ModelRegistry, kind: str):
    arch = {"classifier": "ForSequenceClassification", "mlm": "ForMaskedLM", "encoder": "BertModel"}[kind]
    return next(m for m in registry.models() if m.architecture.endswith(arch))


def _f(loaded, ids, extra, target) -> float:
    """The explained number, computed independently of Captum."""
    with torch.no_grad():
        return float(target.score(ins.output_logits(loaded.model(input_ids=ids, **extra)))[0])


@pytest.mark.parametrize("baseline", ["pad", "mask"])
def test_ig_sums_to_output_change_within_delta(registry, baseline):
    loaded = _model(registry, "classifier")
    text = "the cat sat on the mats"
    result = explain(loaded, text, ExplainOptions(steps=24, baseline=baseline, label="label_0"))
    enc = ins.encode(loaded, text)
    target = ins.class_target(0, loaded.model)
    fx = _f(loaded, enc.ids, enc.extra, target)
    fb = _f(loaded, ins.baseline_ids(loaded, enc, baseline), enc.extra, target)
    assert result.output == pytest.approx(fx, abs=1e-5)
    assert result.baseline_output == pytest.approx(fb, abs=1e-5)
    assert fx != pytest.approx(fb, abs=1e-6)  # the check below would be empty otherwise
    total = float(np.sum(result.token_scores))
    assert abs(total - (fx - fb)) <= abs(result.delta) + 1e-5
    assert abs(result.delta) < 0.05 * abs(fx - fb)  # and it did converge on this smooth model
    assert result.tokens[0] == "[CLS]" and result.tokens[-1] == "[SEP]"
    assert result.token_scores[0] == 0.0 and result.token_scores[-1] == 0.0  # kept in the baseline


def test_ig_on_a_masked_lm_contrast(registry):
    loaded = _model(registry, "mlm")
    text = "the cat sat on the [MASK] ."
    result = explain(loaded, text, ExplainOptions(candidate="mat", versus="floor", steps=32))
    enc = ins.encode(loaded, text, mask=True)
    target = ins.candidate_target(loaded, enc, "mat", "floor")
    fx = _f(loaded, enc.ids, enc.extra, target)
    with torch.no_grad():
        logp = loaded.model(input_ids=enc.ids, **enc.extra).logits[0, 6].log_softmax(-1)
    vocab = loaded.tokenizer.get_vocab()
    assert fx == pytest.approx(float(logp[vocab["mat"]] - logp[vocab["floor"]]), abs=1e-5)
    assert result.target == "mat vs floor" and result.kind == "candidate"
    assert abs(float(np.sum(result.token_scores)) - (fx - result.baseline_output)) <= abs(result.delta) + 1e-5
    assert len(result.ranking) == 5 and result.predicted_label == result.ranking[0][0]


def test_grad_x_input_is_gradient_times_embeddings_output(registry):
    """At the embeddings module's output (after its LayerNorm), not on the word vectors before it."""
    loaded = _model(registry, "classifier")
    text = "a big red car"
    result = explain(loaded, text, ExplainOptions(method="gradxinput", label="label_1"))
    enc = ins.encode(loaded, text)
    grad, out = embeddings_output_grad(loaded, enc, ins.class_target(1, loaded.model))
    np.testing.assert_allclose(result.token_scores, (grad * out).sum(-1)[0], rtol=1e-4, atol=1e-9)
    assert result.delta is None and result.target == "label_1"
    assert result.layer == "bert.embeddings output (after LayerNorm)"
    assert result.to_json()["layer"] == result.layer


def test_rollout_is_a_distribution_over_tokens(registry):
    loaded = _model(registry, "classifier")
    before = loaded.model.config._attn_implementation
    result = explain(loaded, "the dog ran", ExplainOptions(method="rollout"))
    assert loaded.model.config._attn_implementation == before
    assert result.token_scores.sum() == pytest.approx(1.0)
    assert (result.token_scores >= 0).all()
    assert result.predicted_label in ("label_0", "label_1")


def test_words_sum_their_pieces(registry):
    loaded = _model(registry, "classifier")
    result = explain(loaded, "the cats walking", ExplainOptions(method="gradxinput"))
    assert result.tokens == ["[CLS]", "the", "cat", "##s", "walk", "##ing", "[SEP]"]
    assert result.words.words == ["the", "cats", "walking"]
    s = result.token_scores
    np.testing.assert_allclose(result.words.scores, [s[1], s[2] + s[3], s[4] + s[5]])
    data = result.to_json()
    assert set(data) >= {"model", "predicted", "label", "method", "tokens", "words", "delta"}
    assert [w["word"] for w in data["words"]] == ["the", "cats", "walking"]


def test_no_hooks_left_and_other_threads_unaffected(registry):
    """The embeddings tap acts in the explaining thread only, so a concurrent forward elsewhere is unchanged."""
    loaded = _model(registry, "classifier")
    emb = loaded.model.get_input_embeddings()
    ids = loaded.tokenizer("the cat sat", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        reference = loaded.model(input_ids=ids).logits.clone()
    seen: list[torch.Tensor] = []
    stop = threading.Event()

    def other_panel() -> None:
        while not stop.is_set():
            with torch.no_grad():
                seen.append(loaded.model(input_ids=ids).logits.clone())

    thread = threading.Thread(target=other_panel)
    thread.start()
    try:
        explain(loaded, "the dog sat on the bed", ExplainOptions(steps=64, internal_batch_size=8))
    finally:
        stop.set()
        thread.join()
    embeddings = loaded.model.bert.embeddings
    assert not emb._forward_hooks and not emb._forward_pre_hooks
    assert not embeddings._forward_hooks and not embeddings._forward_pre_hooks
    assert seen and all(torch.allclose(s, reference, atol=1e-6) for s in seen)


@pytest.mark.parametrize(
    ("kind", "text", "options", "message"),
    [
        ("encoder", "the cat", ExplainOptions(), "no classification head"),
        ("mlm", "the cat", ExplainOptions(), "give a candidate word"),
        ("classifier", "the cat", ExplainOptions(candidate="mat"), "no masked-LM head"),
        ("classifier", "the cat", ExplainOptions(label="happy"), "Unknown label 'happy'"),
        ("mlm", "the cat sat", ExplainOptions(candidate="mat"), "no mask"),
        ("mlm", "[MASK] sat on [MASK]", ExplainOptions(candidate="mat"), "2 masks"),
        ("mlm", "the [MASK] sat", ExplainOptions(candidate="zebra"), "not one word piece"),
        ("classifier", "   ", ExplainOptions(), "Type a text"),
        ("classifier", "the cat", ExplainOptions(method="lime"), "Unknown method"),
    ],
)
def test_user_errors_are_one_line(registry, kind, text, options, message):
    with pytest.raises(UserError, match=message) as info:
        explain(_model(registry, kind), text, options)
    assert "\n" not in str(info.value)


def test_label_by_index_and_case(registry):
    loaded = _model(registry, "classifier")
    assert ins.resolve_label(loaded.model, "LABEL_1") == 1
    assert ins.resolve_label(loaded.model, "0") == 0
    assert ins.resolve_label(loaded.model, None) is None
