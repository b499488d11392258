"""Exact match and F1 as the official SQuAD v2.0 script computes them (numbers from 0 to 1, not percent).

An answer is normalised before it is compared: lower case, punctuation removed, the articles a/an/the
removed, whitespace collapsed. A question scores its best match over all its gold answers; an
unanswerable question's gold answer is the empty string, so only "no answer" scores on it.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token overlap F1; when either side is empty it is 1 only if both are."""
    pred, true = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not true:
        return float(pred == true)
    common = sum((Counter(pred) & Counter(true)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(true)
    return 2 * precision * recall / (precision + recall)


def best_scores(prediction: str, golds: Sequence[str]) -> tuple[float, float]:
    """(exact match, F1) of one prediction against its gold answers (none: the question is unanswerable)."""
    golds = [g for g in golds if normalize_answer(g)] or [""]
    return max(exact_match(prediction, g) for g in golds), max(f1_score(prediction, g) for g in golds)


def squad_metrics(predictions: Sequence[str], golds: Sequence[Sequence[str]], prefix: str = "eval_") -> dict:
    """Mean exact match and F1, plus the answerable / unanswerable parts when the data has both."""
    if len(predictions) != len(golds):
        raise ValueError("one prediction per question")
    scores = [best_scores(p, g) for p, g in zip(predictions, golds, strict=True)]
    has = [bool([g for g in gold if normalize_answer(g)]) for gold in golds]
    out = {
        f"{prefix}exact_match": _mean([s[0] for s in scores]),
        f"{prefix}f1": _mean([s[1] for s in scores]),
    }
    if any(has) and not all(has):
        out[f"{prefix}has_answer_f1"] = _mean([s[1] for s, h in zip(scores, has, strict=True) if h])
        out[f"{prefix}no_answer_accuracy"] = _mean([s[0] for s, h in zip(scores, has, strict=True) if not h])
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")
