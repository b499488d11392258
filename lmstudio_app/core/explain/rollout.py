"""Attention rollout as a third, gradient-free view of the same input (Abnar & Zuidema 2020).

Mirrors core/attention's idea without importing it (feature packages stay independent): switch the
shared model to eager attention only for our pass (transformers v5 reads the setting at every call, and
eager and SDPA compute the same function, so an overlapping forward elsewhere only runs slower), then
multiply the head-averaged, residual-mixed attention up the layers.
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
    """Switch `model` to eager attention for the block, then restore what it used before."""
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


def rollout_row(attentions: np.ndarray, row: int, residual: float = 0.5) -> np.ndarray:
    """How much token `row` of the last layer draws from each input token; attentions (layer, head, n, n)."""
    n = attentions.shape[-1]
    eye = np.eye(n, dtype=np.float64)
    result = eye
    for layer in attentions.astype(np.float64):
        a = residual * eye + (1.0 - residual) * layer.mean(axis=0)
        result = (a / a.sum(axis=-1, keepdims=True)) @ result
    return result[row]
