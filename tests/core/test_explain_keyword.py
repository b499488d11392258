"""A classifier fine-tuned here on data where one keyword decides the label: the explanations find it,
and the dataset map separates the classes better after fine-tuning than before."""

from __future__ import annotations

import numpy as np
import pytest
from explain_helpers import keyword_rows, train_keyword_classifier

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


def test_gradient_x_input_puts_the_most_on_the_keyword(models):
    """By size: with LayerNorm right after word + position embeddings, grad . word = -grad . position
    (LayerNorm ignores scale), so grad x input's sign says little; its magnitude finds the keyword."""
    _, tuned = models
    hits = 0
    for text, _label, keyword in HELD_OUT:
        r = explain(tuned, text, ExplainOptions(method="gradxinput"))
        hits += r.words.words[int(np.argmax(np.abs(r.words.scores)))] == keyword
    assert hits / len(HELD_OUT) >= 0.9, f"keyword on top for {hits} of {len(HELD_OUT)}"


def test_fine_tuning_pulls_the_classes_apart_on_the_map(models):
    base, tuned = models
    texts = [t for t, _, _ in HELD_OUT]
    labels = [label for _, label, _ in HELD_OUT]
    before = separation(dataset_map(base, texts, labels).xy, labels)
    after = separation(dataset_map(tuned, texts, labels).xy, labels)
    assert after > before + 0.2, (before, after)
