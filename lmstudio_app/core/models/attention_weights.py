"""Attention weights from a shared model: eager attention for one pass, and their rollout.

Every feature that needs the weights (attention views, explain's rollout) switches the same loaded model,
so the switch and its lock live here, once: two features with a lock each could restore each other's
setting in the middle of a pass. Switching is safe on a shared model because transformers v5 reads
`config._attn_implementation` at every attention call and eager and SDPA compute the same function: an
overlapping forward elsewhere only runs slower for a moment, never differently.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

_EAGER_LOCK = threading.Lock()


@contextlib.contextmanager
def eager_attention(model: Any) -> Iterator[None]:
    """Switch `model` to eager attention for the block, then restore whatever it used before."""
    with _EAGER_LOCK:
        previous = getattr(model.config, "_attn_implementation", None)
        switch = previous not in (None, "eager") and hasattr(model, "set_attn_implementation")
        if switch:
            model.set_attn_implementation("eager")
        try:
            yield
        finally:
            if switch:
                model.set_attn_implementation(previous)


def rollout(attentions: np.ndarray, residual: float = 0.5) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): average heads, mix in the residual, multiply up the layers.

    `attentions` is (layer, head, n, n); row i of the result says how much the last layer's token i draws
    from each input token.
    """
    n = attentions.shape[-1]
    eye = np.eye(n, dtype=np.float64)
    result = eye
    for layer in attentions.astype(np.float64):
        a = residual * eye + (1.0 - residual) * layer.mean(axis=0)
        result = (a / a.sum(axis=-1, keepdims=True)) @ result
    return result
