"""What the self-attention steps return, whichever layer they rebuild: an encoder's (steps.py) or a
decoder's masked self-attention or cross-attention (decoder_steps.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lmstudio_app.core.errors import UserError


@dataclass(frozen=True)
class Choice:
    """Which layer, head and query token (0-based, as the tokens are listed)."""

    layer: int = 0
    head: int = 0
    token: int = 0


@dataclass(frozen=True)
class Form:
    """How the layer is written: BERT's encoder by default; decoders differ in where the norms sit and
    which attention this is ("self", "masked" self-attention of a decoder, or "cross"-attention)."""

    kind: str = "self"
    layout: str = ""  # the decoder layout's name (GPT-2, Llama, BERT, BART, T5); "" for encoders
    pre_norm: bool = False
    norm: str = "LayerNorm"
    scale: float | None = None  # None: 1/√d_k
    n_kv_heads: int | None = None  # fewer K/V heads than query heads (grouped-query attention)
    rotary: bool = False
    gated: bool = False

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AttentionSteps:
    """Every intermediate value of one layer for one query token (float32 numpy)."""

    model: str
    tokens: list[str]
    choice: Choice
    n_layers: int
    n_heads: int
    head_dim: int
    shapes: dict[str, tuple[int, int]]  # weights as x·W: W^Q (d, h·d_k), W^O (h·d_k, d), W_1, W_2
    x: np.ndarray  # (d,) the token's input to the layer
    q: np.ndarray  # (d_k,) this head's query
    keys: np.ndarray  # (n, d_k)
    values: np.ndarray  # (n, d_k)
    scores: np.ndarray  # (n,) q·k_j / √d_k
    weights: np.ndarray  # (n,) softmax of the scores
    attention_map: np.ndarray  # (n, n) this head's map for every query; row `token` = weights
    head_output: np.ndarray  # (d_k,) Σ_j w_j v_j
    heads: np.ndarray  # (h, d_k) every head's output at the token; concatenated = heads.ravel()
    multi_head: np.ndarray  # (d,) Concat(heads) W^O + b^O
    z: np.ndarray  # (d,) LayerNorm(x + multi_head)
    ffn_hidden: np.ndarray  # (d_ff,) act(z W_1 + b_1)
    ffn: np.ndarray  # (d,) ffn_hidden W_2 + b_2
    output: np.ndarray  # (d,) LayerNorm(z + ffn)
    model_output: np.ndarray  # (d,) the model's own hidden state after the layer
    form: Form = Form()
    key_tokens: list[str] | None = None  # cross-attention: the encoder's tokens; else the tokens
    score_map: np.ndarray | None = None  # (n, keys) this head's scores, -inf where the causal mask hides

    @property
    def keys_read(self) -> list[str]:
        return self.tokens if self.key_tokens is None else self.key_tokens

    @property
    def max_error(self) -> float:
        """Largest |rebuilt - model| over the output vector: the check that the formulas are the model's."""
        return float(np.abs(self.output - self.model_output).max())

    def to_json(self) -> dict[str, Any]:
        def vec(a: np.ndarray) -> list:  # JSON has no -inf: a masked score is null
            a = np.asarray(a, dtype=float).round(6)
            return np.where(np.isfinite(a), a, None).tolist()

        return {
            "model": self.model,
            "tokens": self.tokens,
            "layer": self.choice.layer,
            "head": self.choice.head,
            "token": self.choice.token,
            "head_dim": self.head_dim,
            "shapes": {k: list(v) for k, v in self.shapes.items()},
            **{
                name: vec(getattr(self, name))
                for name in (
                    "x",
                    "q",
                    "keys",
                    "values",
                    "scores",
                    "weights",
                    "head_output",
                    "heads",
                    "multi_head",
                    "z",
                    "ffn_hidden",
                    "ffn",
                    "output",
                    "model_output",
                )
            },
            "max_error": self.max_error,
            "form": self.form.to_json(),
            "key_tokens": self.keys_read,
            **({} if self.score_map is None else {"score_map": vec(self.score_map)}),
        }


def check_choice(choice: Choice, n_layers: int, n_heads: int, n_tokens: int) -> None:
    """One clear line for an out-of-range layer, head or token."""
    for what, value, count in (
        ("layer", choice.layer, n_layers),
        ("head", choice.head, n_heads),
        ("token", choice.token, n_tokens),
    ):
        if not 0 <= value < count:
            raise UserError(f"There is no {what} {value}: choose a {what} from 0 to {count - 1}.")
