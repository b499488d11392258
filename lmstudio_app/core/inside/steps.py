"""Self-attention step by step for one layer, head and query token, from the model's own weights.

The model runs once (hidden states of every layer); then the layer is recomputed by hand for the chosen
token: q = xW^Q, k_j, v_j, the scores q·k_j/√d_k, their softmax, Σ w_j v_j, all heads concatenated times
W^O, the residual and LayerNorm, the feed-forward block, the second residual and LayerNorm. The last
piece is compared with the model's own hidden state after the layer, so the view proves its formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.anatomy import LayerParts, encode, hidden_states, layers
from lmstudio_app.core.tasks import TaskState, ensure_state


@dataclass(frozen=True)
class Choice:
    """Which layer, head and query token (0-based, as the tokens are listed)."""

    layer: int = 0
    head: int = 0
    token: int = 0


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

    @property
    def max_error(self) -> float:
        """Largest |rebuilt - model| over the output vector: the check that the formulas are the model's."""
        return float(np.abs(self.output - self.model_output).max())

    def to_json(self) -> dict[str, Any]:
        def vec(a: np.ndarray) -> list:
            return np.asarray(a, dtype=float).round(6).tolist()

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


def _linear(module: Any) -> tuple[Any, Any]:
    bias = module.bias.float() if module.bias is not None else None
    return module.weight.float(), bias


def _norm(module: Any, x: Any) -> Any:
    import torch.nn.functional as F  # noqa: N812 (torch's convention)

    weight = module.weight.float() if module.weight is not None else None
    bias = module.bias.float() if module.bias is not None else None
    return F.layer_norm(x, module.normalized_shape, weight, bias, module.eps)


def _shapes(part: LayerParts) -> dict[str, tuple[int, int]]:
    def xw(module: Any) -> tuple[int, int]:  # nn.Linear stores (out, in); the formulas write x·W
        return (int(module.weight.shape[1]), int(module.weight.shape[0]))

    return {
        "W^Q": xw(part.query),
        "W^K": xw(part.key),
        "W^V": xw(part.value),
        "W^O": xw(part.output),
        "W_1": xw(part.ffn_in),
        "W_2": xw(part.ffn_out),
    }


def attention_steps(
    loaded: Any,
    text: str,
    choice: Choice,
    text_b: str | None = None,
    *,
    state: TaskState | None = None,
) -> AttentionSteps:
    """Run `loaded` once on the text, then rebuild `choice.layer` for `choice.token` piece by piece."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    state = ensure_state(state)
    enc = encode(loaded, text, text_b)
    parts = layers(loaded.model, loaded.name)
    part = parts[min(max(choice.layer, 0), len(parts) - 1)]
    check_choice(choice, len(parts), part.n_heads, len(enc.ids))
    state.progress(0.2, "Running the model")
    states = hidden_states(loaded, enc)
    state.raise_if_stopped()
    state.progress(0.7, f"Rebuilding layer {choice.layer}")
    h, dk, i = part.n_heads, part.head_dim, choice.token
    with torch.inference_mode():
        xs = states[choice.layer][0].float()  # (n, d): every token's input to the layer
        n = xs.shape[0]
        queries = F.linear(xs, *_linear(part.query)).view(n, h, dk)
        keys = F.linear(xs, *_linear(part.key)).view(n, h, dk)
        values = F.linear(xs, *_linear(part.value)).view(n, h, dk)
        scores = torch.einsum("hd,nhd->hn", queries[i], keys) / math.sqrt(dk)  # (h, n) at the query token
        weights = scores.softmax(-1)
        heads = torch.einsum("hn,nhd->hd", weights, values)  # (h, dk)
        multi_head = F.linear(heads.reshape(-1), *_linear(part.output))
        z = _norm(part.norm1, xs[i] + multi_head)
        ffn_hidden = part.activation(F.linear(z, *_linear(part.ffn_in)))
        ffn = F.linear(ffn_hidden, *_linear(part.ffn_out))
        output = _norm(part.norm2, z + ffn)
        qh, kh = queries[:, choice.head], keys[:, choice.head]
        attention_map = (qh @ kh.T / math.sqrt(dk)).softmax(-1)

    def np32(t: Any) -> np.ndarray:
        return t.detach().float().cpu().numpy()

    state.progress(1.0, "Steps ready")
    return AttentionSteps(
        model=loaded.name,
        tokens=enc.tokens,
        choice=choice,
        n_layers=len(parts),
        n_heads=h,
        head_dim=dk,
        shapes=_shapes(part),
        x=np32(xs[i]),
        q=np32(queries[i, choice.head]),
        keys=np32(kh),
        values=np32(values[:, choice.head]),
        scores=np32(scores[choice.head]),
        weights=np32(weights[choice.head]),
        attention_map=np32(attention_map),
        head_output=np32(heads[choice.head]),
        heads=np32(heads),
        multi_head=np32(multi_head),
        z=np32(z),
        ffn_hidden=np32(ffn_hidden),
        ffn=np32(ffn),
        output=np32(output),
        model_output=np32(states[choice.layer + 1][0, i]),
    )
