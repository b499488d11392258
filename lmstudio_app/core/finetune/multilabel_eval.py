"""A multi-label classifier's scores: one sigmoid per label, a threshold, micro/macro F1 and per-label figures.

The threshold is either fixed or chosen on the validation rows to maximise micro-F1 (the scores of those
same rows are then slightly optimistic, which the Results page and metrics.json say). The figures come
from scikit-learn, so they mean what they mean everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lmstudio_app.core.finetune.evaluate import MAX_MISCLASSIFIED

DEFAULT_THRESHOLD = 0.5
TUNED = "tuned on the validation rows (maximises micro-F1)"
FIXED = "fixed"


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def tune_threshold(probs: np.ndarray, y_true: np.ndarray) -> tuple[float, float]:
    """(threshold, micro-F1) where "label applies" = probability >= threshold maximises micro-F1 on these rows.

    Every cut between two neighbouring distinct probabilities is tried (a sweep over the sorted scores, so
    it is exact, not a grid); the threshold is the midpoint of the best cut. Of equally good cuts, the one
    nearest 0.5 wins. No positive label at all: 0.5, F1 0."""
    p = np.asarray(probs, dtype=np.float64).ravel()
    y = np.asarray(y_true).ravel() > 0.5
    positives = int(y.sum())
    if positives == 0 or p.size == 0:
        return DEFAULT_THRESHOLD, 0.0
    order = np.argsort(-p, kind="stable")
    ranked, hits = p[order], y[order]
    true_pos = np.cumsum(hits)
    predicted = np.arange(1, p.size + 1)
    cut_here = np.r_[ranked[1:] != ranked[:-1], True]  # tied scores fall on the same side of a threshold
    f1 = np.where(cut_here, 2 * true_pos / (predicted + positives), -1.0)
    below = np.r_[ranked[1:], 0.0]  # the next lower score (0 after the lowest: everything predicted)
    thresholds = (ranked + below) / 2
    best = f1.max()
    candidates = np.flatnonzero(np.isclose(f1, best, rtol=0, atol=1e-12))
    i = candidates[np.argmin(np.abs(thresholds[candidates] - DEFAULT_THRESHOLD))]
    return float(thresholds[i]), float(best)


@dataclass
class MultiLabelEvaluation:
    """Scores of one set of probabilities against the truth at one threshold."""

    metrics: dict[str, Any]
    per_label: dict[str, dict]
    probs: np.ndarray
    y_pred: np.ndarray


def evaluate_probs(
    probs: np.ndarray, y_true: np.ndarray, labels: list[str], threshold: float | None = None
) -> MultiLabelEvaluation:
    """Micro/macro F1, precision and recall, exact-match (subset) accuracy and per-label figures; the
    threshold as given, else tuned on these rows."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    y_true = (np.asarray(y_true) > 0.5).astype(int)
    probs = np.asarray(probs, dtype=np.float64)
    source = FIXED if threshold is not None else TUNED
    if threshold is None:
        threshold, _ = tune_threshold(probs, y_true)
    y_pred = (probs >= threshold).astype(int)
    ids = list(range(len(labels)))
    micro = precision_recall_fscore_support(y_true, y_pred, average="micro", labels=ids, zero_division=0)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, average=None, labels=ids, zero_division=0
    )
    metrics = {
        "eval_micro_f1": float(micro[2]),
        "eval_macro_f1": float(f1_score(y_true, y_pred, average="macro", labels=ids, zero_division=0)),
        "eval_micro_precision": float(micro[0]),
        "eval_micro_recall": float(micro[1]),
        "eval_exact_match": float(accuracy_score(y_true, y_pred)) if len(y_true) else float("nan"),
        "eval_threshold": float(threshold),
        "threshold_source": source,
    }
    per_label = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(labels)
    }
    return MultiLabelEvaluation(metrics, per_label, probs, y_pred)


def trainer_metrics_at(threshold: float | None) -> Any:
    """compute_metrics for transformers' Trainer: the figures of each evaluation during training, at the
    fixed threshold or one tuned on that evaluation (as the final figures are)."""

    def compute(eval_pred: Any) -> dict[str, float]:
        logits = eval_pred.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        labels = list(range(np.asarray(logits).shape[-1]))
        figures = evaluate_probs(sigmoid(logits), np.asarray(eval_pred.label_ids), labels, threshold).metrics
        return {k.removeprefix("eval_"): v for k, v in figures.items() if isinstance(v, float)}

    return compute


def wrong_rows(
    evaluation: MultiLabelEvaluation,
    y_true: np.ndarray,
    labels: list[str],
    texts: list[str],
    pairs: list[str] | None = None,
) -> list[dict]:
    """Rows whose predicted labels differ from the true ones, most confidently wrong first; "score" is the
    probability behind the worst decision (an extra label's own, a missed label's 1 - p)."""
    y_true = np.asarray(y_true) > 0.5
    predicted = evaluation.y_pred > 0
    probs = evaluation.probs
    rows = []
    for i in np.flatnonzero((predicted != y_true).any(axis=1)):
        wrong = predicted[i] != y_true[i]
        confidence = np.where(predicted[i], probs[i], 1.0 - probs[i])[wrong].max()
        row = {
            "text": texts[i],
            "true": ", ".join(labels[j] for j in np.flatnonzero(y_true[i])),
            "predicted": ", ".join(labels[j] for j in np.flatnonzero(predicted[i])),
            "score": float(confidence),
        }
        if pairs is not None:
            row["pair"] = pairs[i]
        rows.append(row)
    rows.sort(key=lambda r: -r["score"])
    return rows[:MAX_MISCLASSIFIED]
