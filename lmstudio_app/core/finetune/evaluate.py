"""A classifier's scores from its logits, with numpy alone (testable without a model or a Trainer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_MISCLASSIFIED = 500


def softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows are the true class, columns the predicted one."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def per_class_scores(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, F1, support) per class; 0 where a class was never predicted or never present."""
    tp = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    support = matrix.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return precision, recall, f1, support


def accuracy_and_f1(logits: np.ndarray, y_true: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 (the Trainer's evaluation metrics during training)."""
    n_classes = logits.shape[-1]
    y_pred = logits.argmax(axis=-1)
    matrix = confusion(np.asarray(y_true), y_pred, n_classes)
    f1 = per_class_scores(matrix)[2]
    return {"accuracy": float((y_pred == y_true).mean()), "macro_f1": float(f1.mean())}


def trainer_metrics(eval_pred: Any) -> dict[str, float]:
    """compute_metrics for transformers' Trainer."""
    logits = eval_pred.predictions[0] if isinstance(eval_pred.predictions, tuple) else eval_pred.predictions
    return accuracy_and_f1(np.asarray(logits), np.asarray(eval_pred.label_ids))


@dataclass
class Evaluation:
    """Scores of one set of predictions against the truth."""

    metrics: dict[str, float]
    per_class: dict[str, dict]
    confusion: list[list[int]]
    probs: np.ndarray
    y_pred: np.ndarray


def evaluate_logits(logits: np.ndarray, y_true: np.ndarray, labels: list[str]) -> Evaluation:
    """Accuracy, macro- and weighted-F1, per-class precision/recall/F1 and the confusion matrix."""
    probs = softmax(np.asarray(logits, dtype=np.float64))
    y_pred = probs.argmax(axis=-1)
    y_true = np.asarray(y_true)
    matrix = confusion(y_true, y_pred, len(labels))
    precision, recall, f1, support = per_class_scores(matrix)
    total = max(1, int(support.sum()))
    metrics = {
        "eval_accuracy": float((y_pred == y_true).mean()) if len(y_true) else float("nan"),
        "eval_macro_f1": float(f1.mean()),
        "eval_weighted_f1": float((f1 * support).sum() / total),
    }
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(labels)
    }
    return Evaluation(metrics, per_class, matrix.tolist(), probs, y_pred)


def misclassified(
    evaluation: Evaluation,
    y_true: np.ndarray,
    labels: list[str],
    texts: list[str],
    pairs: list[str] | None = None,
    limit: int = MAX_MISCLASSIFIED,
) -> list[dict]:
    """The wrong predictions, most confident first (the most telling ones)."""
    rows = []
    for i in np.flatnonzero(evaluation.y_pred != np.asarray(y_true)):
        row = {
            "text": texts[i],
            "true": labels[int(y_true[i])],
            "predicted": labels[int(evaluation.y_pred[i])],
            "score": float(evaluation.probs[i, evaluation.y_pred[i]]),
        }
        if pairs is not None:
            row["pair"] = pairs[i]
        rows.append(row)
    rows.sort(key=lambda r: -r["score"])
    return rows[:limit]
