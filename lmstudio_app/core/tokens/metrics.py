"""Word-level scores of predicted tags: token accuracy, confusion between tags, and (for BIO/BIOES tag
sets) entity precision/recall/F1 with seqeval, overall and per entity type."""

from __future__ import annotations

import warnings

from lmstudio_app.core.tokens.scheme import entity_scheme


def tag_metrics(truth: list[list[str]], predicted: list[list[str]], tags: list[str]) -> dict:
    """{"metrics": {eval_token_accuracy, eval_precision, eval_recall, eval_f1}, "per_type": {...},
    "per_tag": {tag: {precision, recall, f1, support}}, "confusion": rows true x columns predicted}."""
    index = {t: i for i, t in enumerate(tags)}
    confusion = [[0] * len(tags) for _ in tags]
    right = total = 0
    for true_row, pred_row in zip(truth, predicted, strict=True):
        for t, p in zip(true_row, pred_row, strict=True):
            confusion[index[t]][index[p]] += 1
            right += t == p
            total += 1
    metrics: dict[str, float] = {"eval_token_accuracy": right / total if total else float("nan")}
    per_type: dict[str, dict] = {}
    if entity_scheme(tags) is not None:
        metrics_, per_type = entity_scores(truth, predicted)
        metrics.update(metrics_)
    return {
        "metrics": metrics,
        "per_type": per_type,
        "per_tag": _per_tag(confusion, tags),
        "confusion": confusion,
    }


def entity_scores(
    truth: list[list[str]], predicted: list[list[str]]
) -> tuple[dict[str, float], dict[str, dict]]:
    """Entity-level precision, recall and F1 (seqeval, conlleval's rules), overall and per type."""
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no predicted samples" in an early evaluation: scored as 0
        overall = {
            "eval_precision": float(precision_score(truth, predicted, zero_division=0)),
            "eval_recall": float(recall_score(truth, predicted, zero_division=0)),
            "eval_f1": float(f1_score(truth, predicted, zero_division=0)),
        }
        report = classification_report(truth, predicted, output_dict=True, zero_division=0)
    per_type = {
        name: {
            "precision": float(r["precision"]),
            "recall": float(r["recall"]),
            "f1": float(r["f1-score"]),
            "support": int(r["support"]),
        }
        for name, r in report.items()
        if not name.endswith(" avg")
    }
    return overall, per_type


def _per_tag(confusion: list[list[int]], tags: list[str]) -> dict[str, dict]:
    out = {}
    for i, tag in enumerate(tags):
        tp = confusion[i][i]
        predicted = sum(row[i] for row in confusion)
        support = sum(confusion[i])
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[tag] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return out
