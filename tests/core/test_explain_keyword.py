"""A classifier fine-tuned here on data where one keyword decides the label: the explanations find it,
and the dataset map separates the classes better after fine-tuning than before."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from explain_helpers import embeddings_output_grad, keyword_rows, train_keyword_classifier

from lmstudio_app.core.explain import inputs as ins
from lmstudio_app.core.explain.attribution import ExplainOptions, explain
from lmstudio_app.core.explain.embed_map import dataset_map, separation
from lmstudio_app.core.models.registry import ModelRegistry

HELD_OUT = keyword_rows(20, seed=12345)  # training used seed 0: other sentences


@pytest.fixture(scope="module")
def models(tiny_model, tmp_path_factory):
    base_dir = tiny_model("classifier")
    tuned_dir = train_keyword_classifier(base_dir, tmp_path_factory.mktemp("keyword") / "tuned")
    registry = ModelRegistry()
    return registry.load(str(base_dir)), registry.load(str(tuned_dir))


def test_the_fine_tuned_model_learned_the_rule(models):
    _, tuned = models
    result = [explain(tuned, text, ExplainOptions(method="rollout")) for text, _, _ in HELD_OUT]
    assert all(r.predicted_label == label for r, (_, label, _) in zip(result, HELD_OUT, strict=True))


def test_integrated_gradients_puts_the_most_on_the_keyword(models):
    _, tuned = models
    hits = 0
    for text, _label, keyword in HELD_OUT:
        r = explain(tuned, text, ExplainOptions(method="ig", steps=32))
        hits += r.words.words[int(np.argmax(r.words.scores))] == keyword
    assert hits / len(HELD_OUT) >= 0.9, f"keyword on top for {hits} of {len(HELD_OUT)}"


@pytest.fixture(scope="module")
def unsaturated(tiny_model, tmp_path_factory):
    """Trained until it knows the rule (every held-out text right) but not until its tanh pooler
    saturates: there the output is flat around each text and a local gradient says nothing, IG or not."""
    folder = train_keyword_classifier(
        tiny_model("classifier"), tmp_path_factory.mktemp("unsaturated") / "tuned", steps=50
    )
    return ModelRegistry().load(str(folder))


def test_signed_scores_put_the_keyword_on_top_towards_the_predicted_class(unsaturated):
    """Both gradient methods attribute after the embeddings' LayerNorm, so the keyword's score is the
    largest and positive (pushes towards the predicted class), and IG's scores add up to f(x) - f(baseline)."""
    texts = HELD_OUT[:12]
    hits = {"gradxinput": 0, "ig": 0}
    for text, label, keyword in texts:
        for method in hits:
            r = explain(unsaturated, text, ExplainOptions(method=method, steps=32))
            assert r.predicted_label == label and r.target == label
            top = int(np.argmax(r.words.scores))
            hits[method] += r.words.words[top] == keyword and r.words.scores[top] > 0
            if method == "ig":
                gap = r.output - r.baseline_output
                assert abs(float(np.sum(r.token_scores)) - gap) <= max(0.01, 0.05 * abs(gap))
    assert min(hits.values()) >= 10, f"keyword on top with a positive score, of {len(texts)}: {hits}"


def test_ig_integrates_along_the_embeddings_output(unsaturated):
    """IG by hand: Gauss-Legendre points on the straight line from the baseline's embeddings output to
    the text's (a trained model, so the path before the LayerNorm would give other numbers)."""
    text, steps = HELD_OUT[0][0], 8
    result = explain(unsaturated, text, ExplainOptions(steps=steps))
    enc = ins.encode(unsaturated, text)
    target = ins.class_target(ins.resolve_label(unsaturated.model, result.target), unsaturated.model)
    embeddings = unsaturated.model.bert.embeddings
    with torch.no_grad():
        x = embeddings(input_ids=enc.ids, token_type_ids=enc.extra["token_type_ids"])
        b = embeddings(
            input_ids=ins.baseline_ids(unsaturated, enc, "pad"), token_type_ids=enc.extra["token_type_ids"]
        )
    points, weights = np.polynomial.legendre.leggauss(steps)
    total = np.zeros(x.shape[1])
    for point, weight in zip(points, weights, strict=True):
        path = (b + 0.5 * (1 + point) * (x - b)).requires_grad_(True)
        grad, _ = embeddings_output_grad(unsaturated, enc, target, replace=lambda _out, p=path: p)
        total += 0.5 * weight * (grad * (x - b).numpy()).sum(-1)[0]
    np.testing.assert_allclose(result.token_scores, total, rtol=1e-3, atol=1e-6)
    assert result.layer == "bert.embeddings output (after LayerNorm)"


def test_fine_tuning_pulls_the_classes_apart_on_the_map(models):
    base, tuned = models
    texts = [t for t, _, _ in HELD_OUT]
    labels = [label for _, label, _ in HELD_OUT]
    before = separation(dataset_map(base, texts, labels).xy, labels)
    after = separation(dataset_map(tuned, texts, labels).xy, labels)
    assert after > before + 0.2, (before, after)
