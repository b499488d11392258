"""The multi-label threshold and figures against independent computations: the tuner against a brute-force
search with scikit-learn, the figures against scikit-learn called directly."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from lmstudio_app.core.finetune.multilabel_eval import (
    FIXED,
    TUNED,
    evaluate_probs,
    sigmoid,
    trainer_metrics_at,
    tune_threshold,
    wrong_rows,
)


def random_case(seed: int, rows: int, labels: int, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random((rows, labels)) < 0.35).astype(int)
    noise = rng.normal(0, 0.25, (rows, labels))
    probs = np.clip(0.5 + (y - 0.5) * 0.5 + noise, 0.001, 0.999)
    if ties:
        probs = np.round(probs, 1)  # many equal scores: a threshold cannot split them
    return probs, y


def brute_force_best(probs: np.ndarray, y: np.ndarray) -> float:
    """The best micro-F1 over every threshold that gives a different prediction, by scikit-learn."""
    values = np.unique(probs)
    cuts = np.r_[values[0] / 2, (values[1:] + values[:-1]) / 2, (values[-1] + 1) / 2]
    return max(f1_score(y, (probs >= t).astype(int), average="micro", zero_division=0) for t in cuts)


@pytest.mark.parametrize(
    ("seed", "rows", "labels", "ties"),
    [(0, 30, 3, False), (1, 7, 2, False), (2, 50, 5, True), (3, 3, 4, True), (4, 120, 2, False)],
)
def test_the_tuned_threshold_is_as_good_as_any_other(seed, rows, labels, ties):
    probs, y = random_case(seed, rows, labels, ties)
    threshold, best = tune_threshold(probs, y)
    at_threshold = f1_score(y, (probs >= threshold).astype(int), average="micro", zero_division=0)
    assert best == pytest.approx(at_threshold, abs=1e-12)
    assert best == pytest.approx(brute_force_best(probs, y), abs=1e-12)


def test_of_equally_good_thresholds_the_one_nearest_a_half_wins():
    probs = np.array([[0.9, 0.1], [0.8, 0.3]])
    y = np.array([[1, 0], [1, 0]])
    threshold, best = tune_threshold(probs, y)  # any cut between 0.3 and 0.8 is perfect
    assert best == 1.0 and threshold == pytest.approx(0.55)


def test_without_a_positive_label_the_threshold_stays_at_a_half():
    assert tune_threshold(np.array([[0.2, 0.7]]), np.array([[0, 0]])) == (0.5, 0.0)


@pytest.mark.parametrize("fixed", [None, 0.5, 0.3])
def test_the_figures_are_scikit_learns(fixed):
    probs, y = random_case(7, 40, 4)
    labels = ["animal", "colour", "drink", "place"]
    evaluation = evaluate_probs(probs, y, labels, fixed)
    threshold = fixed if fixed is not None else tune_threshold(probs, y)[0]
    y_pred = (probs >= threshold).astype(int)
    m = evaluation.metrics
    assert m["eval_threshold"] == pytest.approx(threshold)
    assert m["threshold_source"] == (FIXED if fixed is not None else TUNED)
    assert m["eval_micro_f1"] == pytest.approx(f1_score(y, y_pred, average="micro"))
    assert m["eval_macro_f1"] == pytest.approx(f1_score(y, y_pred, average="macro", zero_division=0))
    assert m["eval_exact_match"] == pytest.approx(accuracy_score(y, y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(y, y_pred, zero_division=0)
    for i, name in enumerate(labels):
        assert evaluation.per_label[name] == pytest.approx(
            {"precision": precision[i], "recall": recall[i], "f1": f1[i], "support": support[i]}
        )


def test_a_label_never_present_counts_zero_in_the_macro_average():
    probs = np.array([[0.9, 0.1, 0.2], [0.2, 0.8, 0.1]])
    y = np.array([[1, 0, 0], [0, 1, 0]])
    evaluation = evaluate_probs(probs, y, ["a", "b", "bird"], 0.5)
    assert evaluation.per_label["bird"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert evaluation.metrics["eval_micro_f1"] == 1.0
    assert evaluation.metrics["eval_macro_f1"] == pytest.approx(2 / 3)


def test_wrong_rows_say_what_was_missed_and_added_most_confident_first():
    probs = np.array([[0.9, 0.8], [0.6, 0.1], [0.95, 0.05], [0.2, 0.3]])
    y = np.array([[1, 1], [0, 0], [1, 0], [1, 0]])
    evaluation = evaluate_probs(probs, y, ["animal", "colour"], 0.5)
    rows = wrong_rows(evaluation, y, ["animal", "colour"], ["a", "b", "c", "d"], ["p", "q", "r", "s"])
    assert rows == [
        {"text": "d", "true": "animal", "predicted": "", "score": pytest.approx(0.8), "pair": "s"},
        {"text": "b", "true": "", "predicted": "animal", "score": pytest.approx(0.6), "pair": "q"},
    ]


def test_the_trainers_metrics_are_the_same_figures_from_logits():
    probs, y = random_case(9, 20, 3)
    logits = np.log(probs / (1 - probs))
    assert sigmoid(logits) == pytest.approx(probs)
    figures = trainer_metrics_at(None)(SimpleNamespace(predictions=(logits,), label_ids=y.astype(float)))
    expected = evaluate_probs(probs, y, ["0", "1", "2"]).metrics
    assert set(figures) == {
        "micro_f1",
        "macro_f1",
        "micro_precision",
        "micro_recall",
        "exact_match",
        "threshold",
    }
    assert figures["micro_f1"] == pytest.approx(expected["eval_micro_f1"])
    assert trainer_metrics_at(0.5)(SimpleNamespace(predictions=logits, label_ids=y))["threshold"] == 0.5
