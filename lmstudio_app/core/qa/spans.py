"""Start/end logits of every window of one context -> the best answer span, its score and alternatives.

Numpy only, so it is tested without a model. A span's score is P(start) x P(end), each a softmax over the
window's context tokens and its CLS token (as transformers' question-answering pipeline scores); spans
run forward (end >= start) and are at most `max_answer_tokens` long. The answer's characters are cut
from the context by the tokens' offsets, so `context[start:end] == text` always. A model trained with
unanswerable questions answers "no answer" when the CLS score (the lowest over the windows) beats the
best span.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lmstudio_app.core.qa.windows import Offsets, Windows


@dataclass(frozen=True)
class Span:
    text: str
    start: int  # characters of the context: context[start:end] == text
    end: int
    score: float


@dataclass
class Decoded:
    best: Span  # Span("", 0, 0, null score) when the model finds no answer
    alternatives: list[Span] = field(default_factory=list)  # the next best spans, best first
    null_score: float = 0.0
    no_answer: bool = False


@dataclass(frozen=True)
class SpanOptions:
    n_best: int = 20  # start and end candidates per window
    max_answer_tokens: int = 30
    top_k: int = 5  # alternatives kept
    allow_null: bool = False  # the model was trained with unanswerable questions


def _softmax(x: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    x = np.where(allowed, x.astype(np.float64), -np.inf)
    x = x - x.max()
    e = np.exp(x)
    return e / e.sum()


def decode(
    start_logits: Sequence[np.ndarray],
    end_logits: Sequence[np.ndarray],
    offsets: Sequence[Offsets],
    cls_index: Sequence[int],
    context: str,
    options: SpanOptions | None = None,
) -> Decoded:
    """The best span over all windows of `context` (one row of logits and offsets per window)."""
    options = options or SpanOptions()
    found: dict[tuple[int, int], float] = {}
    null = float("inf")
    for starts, ends, offs, cls in zip(start_logits, end_logits, offsets, cls_index, strict=True):
        n = len(offs)
        context_mask = np.array([o is not None for o in offs])
        allowed = context_mask.copy()
        allowed[cls] = True
        p_start = _softmax(np.asarray(starts)[:n], allowed)
        p_end = _softmax(np.asarray(ends)[:n], allowed)
        null = min(null, float(p_start[cls] * p_end[cls]))
        tokens = np.flatnonzero(context_mask)
        if tokens.size == 0:
            continue
        best_starts = tokens[np.argsort(-p_start[tokens], kind="stable")[: options.n_best]]
        best_ends = tokens[np.argsort(-p_end[tokens], kind="stable")[: options.n_best]]
        pairs = [
            (int(s), int(e)) for s in best_starts for e in best_ends if s <= e < s + options.max_answer_tokens
        ] or [(int(t), int(t)) for t in tokens]  # no forward pair among the top: single tokens
        for s, e in pairs:
            chars = (offs[s][0], offs[e][1])
            score = float(p_start[s] * p_end[e])
            if score > found.get(chars, -1.0):
                found[chars] = score
    ranked = sorted(found.items(), key=lambda kv: -kv[1])
    spans = [Span(context[a:b], a, b, score) for (a, b), score in ranked[: options.top_k + 1]]
    null = 0.0 if null == float("inf") else null
    if not spans or (options.allow_null and null > spans[0].score):
        return Decoded(Span("", 0, 0, null), spans[: options.top_k], null, True)
    return Decoded(spans[0], spans[1:], null, False)


def decode_windows(
    start_logits: Sequence[np.ndarray],
    end_logits: Sequence[np.ndarray],
    windows: Windows,
    contexts: Sequence[str],
    options: SpanOptions | None = None,
) -> list[Decoded]:
    """One decoded answer per context, from the logits of all windows (in the windows' order)."""
    groups: dict[int, list[int]] = {}
    for w, row in enumerate(windows.example):
        groups.setdefault(row, []).append(w)
    return [
        decode(
            [start_logits[w] for w in ws],
            [end_logits[w] for w in ws],
            [windows.offsets[w] for w in ws],
            [windows.cls_index[w] for w in ws],
            contexts[row],
            options,
        )
        for row, ws in sorted(groups.items())
    ]
