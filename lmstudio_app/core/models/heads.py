"""Where a masked LM keeps its encoder and its vocabulary head, for features that run the head alone.

The head projects onto the whole vocabulary; running it only at the positions a feature asks about (the
masked one of each copy) instead of at every position saves most of its cost. Fill-mask and the sentence
scores both do that, so the lookup lives here once.
"""

from __future__ import annotations

from typing import Any

_HEAD_PATHS = ("cls.predictions", "lm_head", "predictions")  # BERT-likes, RoBERTa-likes, ALBERT


def split_masked_lm(model: Any) -> tuple[Any, Any] | None:
    """(encoder, masked-LM head) when the head can run on chosen positions alone; None otherwise (the
    caller then runs the whole model and picks the positions from its logits)."""
    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    if base is None:
        return None
    for path in _HEAD_PATHS:
        head: Any = model
        for part in path.split("."):
            head = getattr(head, part, None)
        if callable(head):
            return base, head
    return None
