"""Multi-head: how much each head adds to the layer's output, and what the model says without some heads.

MultiHead(X) = Concat(head_1..head_h) W^O = Σ_i head_i W^O_i, where W^O_i are the rows of W^O that meet
head i's slice. So ‖head_i W^O_i‖ is head i's own contribution to each token's attention output; one
pre-hook per layer on W^O captures the concatenated heads during a single forward pass.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.anatomy import base_model, encode, heads_off, layers
from lmstudio_app.core.inside.outputs import Outputs, output_kind, predict
from lmstudio_app.core.tasks import TaskState, ensure_state


@dataclass(frozen=True)
class HeadContributions:
    """norms[layer, head, token] = ‖head_i(token) · W^O_i‖."""

    model: str
    tokens: list[str]
    norms: np.ndarray  # float32 (layers, heads, n)

    def at(self, token: int | None) -> np.ndarray:
        """The layer x head grid for one token, or averaged over the tokens (None)."""
        return self.norms.mean(-1) if token is None else self.norms[:, :, token]

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "tokens": self.tokens,
            "norms": np.asarray(self.norms, dtype=float).round(6).tolist(),  # [layer][head][token]
        }


def head_contributions(
    loaded: Any, text: str, text_b: str | None = None, *, state: TaskState | None = None
) -> HeadContributions:
    import torch

    state = ensure_state(state)
    enc = encode(loaded, text, text_b)
    parts = layers(loaded.model, loaded.name)
    captured: list[Any] = [None] * len(parts)
    me = threading.get_ident()

    def keeper(index: int) -> Any:
        def keep(_module: Any, args: tuple) -> None:
            if threading.get_ident() == me:
                captured[index] = args[0][0].detach()

        return keep

    hooks = [p.output.register_forward_pre_hook(keeper(k)) for k, p in enumerate(parts)]
    state.progress(0.2, "Running the model")
    try:
        with torch.inference_mode():
            base_model(loaded.model)(**enc.inputs)
    finally:
        for hook in hooks:
            hook.remove()
    state.raise_if_stopped()
    norms = []
    with torch.inference_mode():
        for part, heads in zip(parts, captured, strict=True):
            n, h, dk = heads.shape[0], part.n_heads, part.head_dim
            w_o = part.output.weight.float().view(-1, h, dk)  # (d, h, dk): W^O_i = w_o[:, i]
            per_head = torch.einsum("nhk,dhk->hnd", heads.float().view(n, h, dk), w_o)
            norms.append(per_head.norm(dim=-1))
    state.progress(1.0, "Head contributions ready")
    return HeadContributions(loaded.name, enc.tokens, torch.stack(norms).cpu().numpy())


@dataclass(frozen=True)
class Ablation:
    """The model's outputs with every head, and with the heads in `off` silenced."""

    off: tuple[tuple[int, int], ...]
    full: Outputs
    ablated: Outputs

    def to_json(self) -> dict[str, Any]:
        return {
            "off": [list(x) for x in self.off],
            "full": self.full.to_json(),
            "ablated": self.ablated.to_json(),
        }


def ablate(
    loaded: Any,
    text: str,
    off: set[tuple[int, int]] | frozenset[tuple[int, int]],
    text_b: str | None = None,
    top_k: int = 5,
    *,
    state: TaskState | None = None,
) -> Ablation:
    """Masked-word (or class) predictions before and after zeroing the heads in `off`."""
    state = ensure_state(state)
    output_kind(loaded)
    enc = encode(loaded, text, text_b)
    parts = layers(loaded.model, loaded.name)
    for layer, head in off:
        if not (0 <= layer < len(parts) and 0 <= head < parts[layer].n_heads):
            raise UserError(f"There is no head {head} in layer {layer} of {loaded.name}.")
    full = predict(loaded, enc, top_k)
    state.raise_if_stopped()
    with heads_off(loaded.model, set(off)):
        ablated = predict(loaded, enc, top_k)
    return Ablation(tuple(sorted(off)), full, ablated)
