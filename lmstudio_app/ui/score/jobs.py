"""The Score tab's background work that is more than one core call: the same sentences, several models.

Runs in a `Worker` (ui/qthreading.py); each model's share of the progress bar is one stage of it.
"""

from __future__ import annotations

from typing import Any

from lmstudio_app.core.score.sentences import SentenceScore, score_sentences
from lmstudio_app.core.tasks import TaskState


def score_with_models(
    runs: list[tuple[Any, str]], texts: list[str], *, source: str = "", state: TaskState
) -> list[list[SentenceScore]]:
    """`runs`: (loaded model, method) pairs; returns each model's scores of `texts`, in order (an
    encoder-decoder's given `source`)."""
    out = []
    for i, (loaded, method) in enumerate(runs):
        stage = state.stage(i / len(runs), (i + 1) / len(runs))
        out.append(score_sentences(loaded.model, loaded.tokenizer, texts, method, source=source, state=stage))
    return out
