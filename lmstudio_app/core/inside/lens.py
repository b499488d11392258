"""Layer lens: the masked-LM head applied to every layer's hidden state at a mask.

One forward pass keeps every layer's hidden states; the model's own masked-LM head (transform, LayerNorm,
projection onto the vocabulary) then reads the mask's vector after the embeddings and after each layer.
The rank and probability of the final top-k words show at which depth the answer forms; the last layer
is exactly what the model predicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.anatomy import encode, hidden_states, require_mlm, token_text
from lmstudio_app.core.tasks import TaskState, ensure_state

MAX_TOP_K = 50


@dataclass(frozen=True)
class LayerLens:
    """probs[l, j] and ranks[l, j] (1 = most likely) of the final top word j after layer row l."""

    model: str
    tokens: list[str]
    position: int  # token index of the mask looked at
    layer_names: list[str]  # "embeddings", "layer 0", ..., "layer L-1"
    words: list[str]  # the last layer's top-k, best first
    word_ids: list[int]
    probs: np.ndarray  # (L + 1, k)
    ranks: np.ndarray  # (L + 1, k)
    best: list[tuple[str, float]]  # each row's own most likely word

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "tokens": self.tokens,
            "position": self.position,
            "words": self.words,
            "layers": [
                {
                    "layer": name,
                    "best": {"token": best[0], "score": best[1]},
                    "words": [
                        {"token": w, "score": float(p), "rank": int(r)}
                        for w, p, r in zip(self.words, probs, ranks, strict=True)
                    ],
                }
                for name, best, probs, ranks in zip(
                    self.layer_names, self.best, self.probs, self.ranks, strict=True
                )
            ],
        }


def layer_lens(
    loaded: Any,
    text: str,
    *,
    top_k: int = 5,
    mask: int = 0,
    text_b: str | None = None,
    state: TaskState | None = None,
) -> LayerLens:
    """The lens at mask number `mask` (0-based, in text order) of `text`."""
    import torch

    state = ensure_state(state)
    if not 1 <= top_k <= MAX_TOP_K:
        raise UserError(f"top-k must be between 1 and {MAX_TOP_K}, not {top_k}.")
    head = require_mlm(loaded, "the layer lens")
    enc = encode(loaded, text, text_b)
    tokenizer = loaded.tokenizer
    masks = [i for i, t in enumerate(enc.ids) if t == tokenizer.mask_token_id]
    if not masks:
        raise UserError(
            f"No mask in the text: the lens looks at a masked word; put {tokenizer.mask_token} where a word "
            "is missing, e.g. 'The cat sat on the [MASK].'"
        )
    if not 0 <= mask < len(masks):
        raise UserError(f"There is no mask {mask}: the text has masks 0 to {len(masks) - 1}.")
    position = masks[mask]
    state.progress(0.2, "Running the model")
    states = hidden_states(loaded, enc)
    state.raise_if_stopped()
    state.progress(0.7, "Reading every layer with the masked-LM head")
    with torch.inference_mode():
        rows = torch.stack([h[0, position] for h in states])  # (L + 1, d)
        probs = head(rows).float().softmax(-1)
        top = probs[-1].topk(min(top_k, probs.shape[-1]))
        ids = top.indices
        picked = probs[:, ids]  # (L + 1, k)
        ranks = (probs[:, None, :] > picked[:, :, None]).sum(-1) + 1
        best_p, best_id = probs.max(-1)
    state.progress(1.0, "Lens ready")
    return LayerLens(
        model=loaded.name,
        tokens=enc.tokens,
        position=position,
        layer_names=["embeddings", *(f"layer {k}" for k in range(len(states) - 1))],
        words=[token_text(tokenizer, t) for t in ids.tolist()],
        word_ids=ids.tolist(),
        probs=picked.cpu().numpy(),
        ranks=ranks.cpu().numpy(),
        best=[
            (token_text(tokenizer, t), float(p))
            for t, p in zip(best_id.tolist(), best_p.tolist(), strict=True)
        ],
    )
