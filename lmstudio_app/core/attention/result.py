"""One attention matrix per layer and head with the tokens on both axes: what every view and export reads.

Its own module so that extract (self-attention) and seq2seq (an encoder-decoder's three attentions) both
build it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lmstudio_app.core.errors import UserError

MAX_TOKENS = 512
MASKED_NOTE = "masked: a token cannot attend to later tokens"


@dataclass(frozen=True)
class AttentionResult:
    """Attention of one input: weights indexed [layer, head, query, key] plus what the views need."""

    model: str
    tokens: list[str]
    special: np.ndarray  # bool per token: [CLS], [SEP], padding...
    attentions: np.ndarray  # float32 (layers, heads, n, n), rows sum to 1
    sentence_b_start: int | None = None
    queries: np.ndarray | None = None  # float32 (layers, heads, n, head_dim), projections before scaling
    keys: np.ndarray | None = None
    truncated: bool = False
    offset: int = 0  # index of tokens[0] in the full input (after `window`)
    causal: bool = False  # a decoder's self-attention: query i sees keys 0..i only (the rest is masked)
    key_tokens: list[str] | None = None  # cross-attention: the encoder's tokens (the columns)
    key_special: np.ndarray | None = None

    @property
    def n_layers(self) -> int:
        return int(self.attentions.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.attentions.shape[1])

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def columns(self) -> list[str]:
        """The key tokens: the same as the queries' except for cross-attention."""
        return self.tokens if self.key_tokens is None else self.key_tokens

    @property
    def column_special(self) -> np.ndarray:
        return self.special if self.key_special is None else self.key_special

    def allowed(self) -> np.ndarray:
        """bool (n, m): the keys each query may attend to (a causal model's lower triangle, else all)."""
        shape = self.attentions.shape[-2:]
        return np.tril(np.ones(shape, dtype=bool)) if self.causal else np.ones(shape, dtype=bool)

    def window(self, start: int, stop: int) -> AttentionResult:
        """The tokens [start, stop) only, for long inputs; rows are left as they are (not renormalised).
        Cross-attention keeps every encoder token as a column: the range picks the decoder's rows."""
        start, stop = max(0, start), min(self.n_tokens, stop)
        if stop - start < 1:
            raise UserError(f"The token range {start}-{stop} is empty: choose at least one token.")
        b = self.sentence_b_start
        b = b - start if b is not None and start < b < stop else None

        def qk(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[:, :, start:stop]

        cols = slice(None) if self.key_tokens is not None else slice(start, stop)
        return replace(
            self,
            tokens=self.tokens[start:stop],
            special=self.special[start:stop],
            attentions=self.attentions[:, :, start:stop, cols],
            sentence_b_start=b,
            queries=qk(self.queries),
            keys=qk(self.keys),
            offset=self.offset + start,
        )

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON export: model, tokens, the raw weights as nested lists [layer][head][query][key] and
        whether they are causal (then every weight above the diagonal is masked, exactly 0)."""
        return {
            "model": self.model,
            "tokens": list(self.tokens),
            "causal": self.causal,
            "attentions": self.attentions.tolist(),
        }
