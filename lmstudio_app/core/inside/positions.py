"""Positions: the model's learned position embeddings beside the Transformer's fixed sine/cosine encoding.

Self-attention alone is blind to order (permute the tokens and every output is permuted the same way),
so the model adds a vector per position. Both kinds the primer names are drawn the same way: a
position x position cosine-similarity map and the first two principal components of the vectors. The
word-order experiment shows the consequence: the same words in another order give other predictions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.anatomy import base_model, check_loaded
from lmstudio_app.core.inside.outputs import Outputs, output_kind, predict_text
from lmstudio_app.core.tasks import TaskState, ensure_state

DEFAULT_POSITIONS = 128


@dataclass(frozen=True)
class PositionMap:
    """n position vectors with their cosine-similarity map and first two principal components."""

    title: str
    vectors: np.ndarray  # (n, d)
    cosine: np.ndarray  # (n, n)
    components: np.ndarray  # (n, 2) projections on the first two principal axes
    explained: tuple[float, float]  # share of the variance along each of them

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "cosine": self.cosine.astype(float).round(5).tolist(),
            "components": self.components.astype(float).round(5).tolist(),
            "explained": list(self.explained),
        }


def describe(title: str, vectors: np.ndarray) -> PositionMap:
    v = np.asarray(vectors, dtype=np.float64)
    unit = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    centred = v - v.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    variance = s**2
    share = variance / max(float(variance.sum()), 1e-12)
    components = centred @ vt[:2].T
    if components.shape[1] < 2:
        components = np.pad(components, ((0, 0), (0, 2 - components.shape[1])))
    explained = (float(share[0]) if len(share) else 0.0, float(share[1]) if len(share) > 1 else 0.0)
    return PositionMap(
        title,
        v.astype(np.float32),
        (unit @ unit.T).astype(np.float32),
        components.astype(np.float32),
        explained,
    )


def sinusoidal(n: int, d: int) -> np.ndarray:
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)) (Vaswani et al.)."""
    pos = np.arange(n, dtype=np.float64)[:, None]
    rate = 1.0 / 10000 ** (np.arange(0, d, 2, dtype=np.float64) / d)
    pe = np.zeros((n, d))
    pe[:, 0::2] = np.sin(pos * rate)
    pe[:, 1::2] = np.cos(pos * rate[: d // 2])
    return pe


@dataclass(frozen=True)
class Positions:
    model: str
    model_map: PositionMap  # the model's own table (learned, or DistilBERT's fixed one)
    fixed_map: PositionMap  # the Transformer's sine/cosine encoding at the same size

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "learned": self.model_map.to_json(), "fixed": self.fixed_map.to_json()}


def positions(loaded: Any, n: int = DEFAULT_POSITIONS, *, state: TaskState | None = None) -> Positions:
    """The first `n` position vectors of the model and of the sine/cosine encoding of the same width."""
    state = ensure_state(state)
    check_loaded(loaded)
    embeddings = getattr(base_model(loaded.model), "embeddings", None)
    table = getattr(embeddings, "position_embeddings", None)
    if table is None or not hasattr(table, "weight"):
        raise UserError(
            f"{loaded.name} has no table of absolute position embeddings (it encodes positions relatively)."
        )
    offset = (embeddings.padding_idx + 1) if getattr(embeddings, "padding_idx", None) is not None else 0
    available = table.weight.shape[0] - offset  # RoBERTa-likes number positions from padding_idx + 1
    if not 2 <= n <= available:
        raise UserError(f"Choose between 2 and {available} positions for {loaded.name}, not {n}.")
    vectors = table.weight[offset : offset + n].detach().float().cpu().numpy()
    fixed = bool(getattr(loaded.model.config, "sinusoidal_pos_embds", False))
    state.progress(0.5, "Comparing positions")
    kind = "fixed sine/cosine table" if fixed else "learned position embeddings"
    return Positions(
        loaded.name,
        describe(f"{loaded.name}: {kind}", vectors),
        describe("Transformer: fixed sine/cosine encoding", sinusoidal(n, vectors.shape[1])),
    )


def reorder(text: str, seed: int = 0) -> str:
    """The same words in another (seeded) order; masks count as words and move with the rest."""
    words = text.split()
    if len(set(words)) < 2:
        raise UserError("The word-order experiment needs at least two different words.")
    rng = random.Random(seed)
    shuffled = list(words)
    while shuffled == words:
        rng.shuffle(shuffled)
    return " ".join(shuffled)


@dataclass(frozen=True)
class WordOrder:
    original: str
    reordered: str
    before: Outputs
    after: Outputs

    def to_json(self) -> dict[str, Any]:
        return {
            "original": self.original,
            "reordered": self.reordered,
            "before": self.before.to_json(),
            "after": self.after.to_json(),
        }


def word_order(
    loaded: Any,
    text: str,
    reordered: str | None = None,
    *,
    seed: int = 0,
    top_k: int = 5,
    state: TaskState | None = None,
) -> WordOrder:
    """Predictions for `text` and for the same words in another order (given, or shuffled with `seed`)."""
    state = ensure_state(state)
    check_loaded(loaded)
    output_kind(loaded)
    reordered = reordered.strip() if reordered and reordered.strip() else reorder(text, seed)
    if sorted(w.lower() for w in reordered.split()) != sorted(w.lower() for w in text.split()):
        raise UserError("The reordered sentence must use exactly the same words, in another order.")
    before = predict_text(loaded, text, top_k=top_k)
    state.raise_if_stopped()
    after = predict_text(loaded, reordered, top_k=top_k)
    return WordOrder(text, reordered, before, after)
