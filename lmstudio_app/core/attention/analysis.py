"""What the attention weights say: rollout, per-head statistics, display options and the neuron view."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lmstudio_app.core.attention.extract import AttentionResult, extract_attention
from lmstudio_app.core.attention.seq2seq import PARTS, Seq2SeqAttention
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.attention_weights import rollout
from lmstudio_app.core.tasks import TaskState, ensure_state


@dataclass(frozen=True)
class HeadStats:
    """One number per (layer, head): entropy in nats, mean |query - key| distance, share on special tokens."""

    entropy: np.ndarray
    distance: np.ndarray
    special_share: np.ndarray


def head_statistics(result: AttentionResult) -> HeadStats:
    """Per-head summary numbers over the keys each query may see (a causal model's lower triangle); float32
    and one pass per statistic, so 512 tokens x 72 heads stays quick. Cross-attention has no query-to-key
    distance (two texts), so its distance is NaN."""
    allowed = result.allowed()
    att = np.where(allowed, np.asarray(result.attentions, dtype=np.float32), np.float32(0))
    plogp = att * np.log(np.maximum(att, np.float32(1e-12)))
    entropy = -plogp.sum(-1, dtype=np.float64).mean(-1)
    if result.key_tokens is None:
        idx = np.arange(att.shape[-1], dtype=np.float32)
        gaps = np.abs(idx[:, None] - idx[None, :]) * allowed
        distance = np.einsum("lhqk,qk->lhq", att, gaps, dtype=np.float64).mean(-1)
    else:
        distance = np.full(entropy.shape, np.nan)
    special_share = att[..., result.column_special].sum(-1, dtype=np.float64).mean(-1)
    return HeadStats(entropy=entropy, distance=distance, special_share=special_share)


def mask_later(matrix: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A float copy of a causal (..., r, c) matrix with NaN where a query (at input position rows[i]) cannot
    see a key (at cols[j] > rows[i]): the views draw NaN as masked, not as a zero weight."""
    out = np.array(matrix, dtype=np.float32)
    out[..., np.asarray(cols)[None, :] > np.asarray(rows)[:, None]] = np.nan
    return out


def display_matrix(
    matrix: np.ndarray, keep: np.ndarray | None = None, renormalise: bool = False, threshold: float = 0.0
) -> np.ndarray:
    """What a heatmap shows: rows/columns in `keep` (bool mask), rows rescaled to 1, weights < threshold as 0."""
    m = np.asarray(matrix, dtype=np.float32)
    if keep is not None:
        idx = np.flatnonzero(keep)
        m = m[..., idx[:, None], idx[None, :]]  # one gather instead of two copies
    if renormalise:
        sums = m.sum(-1, keepdims=True)
        m = np.divide(m, sums, out=np.zeros_like(m), where=sums > 0)
    if threshold > 0:
        m = np.where(m >= threshold, m, 0.0).astype(np.float32)
    return m


@dataclass(frozen=True)
class AttentionAnalysis:
    """An extraction with what the views derive from the whole input, computed off the GUI thread."""

    result: AttentionResult
    rollout: np.ndarray | None  # None for cross-attention: rollout follows one sequence through its layers
    stats: HeadStats

    @classmethod
    def of(cls, result: AttentionResult) -> AttentionAnalysis:
        paths = None if result.key_tokens is not None else rollout(result.attentions)
        return cls(result, paths, head_statistics(result))


@dataclass(frozen=True)
class Seq2SeqAnalysis:
    """An encoder-decoder's three attentions, each analysed as above."""

    attention: Seq2SeqAttention
    parts: dict[str, AttentionAnalysis]


def analyse(
    loaded: Any,
    text: str,
    text_b: str | None = None,
    *,
    target: str | None = None,
    state: TaskState | None = None,
) -> AttentionAnalysis | Seq2SeqAnalysis:
    """extract_attention plus rollout and head statistics (worth a worker thread at 512 tokens)."""
    state = ensure_state(state)
    result = extract_attention(loaded, text, text_b, target=target, state=state)
    state.raise_if_stopped()
    if isinstance(result, Seq2SeqAttention):
        return Seq2SeqAnalysis(result, {p: AttentionAnalysis.of(result.part(p)) for p in PARTS})
    return AttentionAnalysis.of(result)


@dataclass(frozen=True)
class NeuronView:
    """How one head scores keys for one query token: per-dimension q*k products and their sums."""

    query: np.ndarray  # (head_dim,)
    keys: np.ndarray  # (n, head_dim)
    products: np.ndarray  # (n, head_dim) query * key
    scores: np.ndarray  # (n,) sum of products / sqrt(head_dim)
    softmax: np.ndarray  # (n,) softmax of scores: the weights when the model adds no positional bias
    attention: np.ndarray  # (n,) the weights the model really used


def neuron_view(result: AttentionResult, layer: int, head: int, token: int) -> NeuronView:
    if result.queries is None or result.keys is None:
        raise UserError(
            "This model's query/key projections were not found: the neuron view needs a BERT-like model."
        )
    if not (0 <= layer < result.n_layers and 0 <= head < result.n_heads and 0 <= token < result.n_tokens):
        raise UserError(f"No layer {layer}, head {head}, token {token} in this result.")
    q = result.queries[layer, head, token].astype(np.float64)
    k = result.keys[layer, head].astype(np.float64)
    products = k * q[None, :]
    scores = products.sum(-1) / math.sqrt(q.shape[0])
    if result.causal:  # the later keys are masked (-inf before the softmax), as in the model
        scores[token + 1 :] = -np.inf
    e = np.exp(scores - scores.max())
    return NeuronView(
        query=q,
        keys=k,
        products=products,
        scores=scores,
        softmax=e / e.sum(),
        attention=result.attentions[layer, head, token].astype(np.float64),
    )
