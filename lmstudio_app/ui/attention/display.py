"""What every attention view shows: the chosen token range with the display options applied.

One object so that "Hide [CLS]/[SEP]/padding", "Renormalise rows" and the threshold reach the maps,
the rollout bars and the neuron view alike, and so that the sentence-B divider lands on the same token
in all of them once tokens are hidden. A causal view's later positions come out as NaN (masked) in
every map; cross-attention has its own columns (the encoder's tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from lmstudio_app.core.attention.analysis import display_matrix, mask_later
from lmstudio_app.core.attention.extract import AttentionResult


@dataclass(frozen=True)
class Display:
    view: AttentionResult  # the chosen token range
    hide_special: bool = False
    renormalise: bool = False
    threshold: float = 0.0

    @cached_property
    def keep(self) -> np.ndarray | None:
        """Bool mask of the tokens shown, None when all are (hiding every token would show nothing)."""
        if not self.hide_special:
            return None
        keep = ~self.view.special
        return keep if keep.any() else None

    @cached_property
    def indices(self) -> np.ndarray:
        """Positions in the view of the tokens shown."""
        return np.arange(self.view.n_tokens) if self.keep is None else np.flatnonzero(self.keep)

    @cached_property
    def column_indices(self) -> np.ndarray:
        """Positions of the key tokens shown (the encoder's for cross-attention, else `indices`)."""
        if self.view.key_tokens is None:
            return self.indices
        keep = ~self.view.column_special if self.hide_special else None
        return np.arange(len(self.view.columns)) if keep is None or not keep.any() else np.flatnonzero(keep)

    @property
    def tokens(self) -> list[str]:
        return [self.view.tokens[i] for i in self.indices]

    @property
    def column_tokens(self) -> list[str]:
        return [self.view.columns[i] for i in self.column_indices]

    @property
    def labels(self) -> list[str]:
        """ "position: token" for choosers (positions of the whole input)."""
        return [f"{i + self.view.offset}: {self.view.tokens[i]}" for i in self.indices]

    @property
    def b_start(self) -> int | None:
        """Sentence B's first shown token, in shown positions (None for a single sentence)."""
        b = self.view.sentence_b_start
        if b is None or b >= self.view.n_tokens:
            return None
        return int((self.indices < b).sum())

    def segment(self, shown: int) -> str:
        b = self.b_start
        return "" if b is None else (" (B)" if shown >= b else " (A)")

    def matrix(self, matrix: np.ndarray) -> np.ndarray:
        """A (..., n, m) query x key matrix as the heatmaps show it (masked cells NaN)."""
        if self.view.key_tokens is None:
            shown = display_matrix(matrix, self.keep, self.renormalise, self.threshold)
        else:
            picked = np.asarray(matrix)[..., self.indices[:, None], self.column_indices[None, :]]
            shown = display_matrix(picked, None, self.renormalise, self.threshold)
        return mask_later(shown, self.indices, self.column_indices) if self.view.causal else shown

    def row(self, values: np.ndarray) -> np.ndarray:
        """One query's weights over the keys (n,), with the same options as a map row."""
        row = np.asarray(values, dtype=np.float64)[self.indices]
        if self.renormalise and row.sum() > 0:
            row = row / row.sum()
        if self.threshold > 0:
            row = np.where(row >= self.threshold, row, 0.0)
        return row
