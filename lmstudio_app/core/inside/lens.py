"""Layer lens: the model's own head applied to every layer's hidden state, at a mask or the next token.

One forward pass keeps every layer's hidden states; a masked LM's head (transform, LayerNorm, projection
onto the vocabulary) then reads the mask's vector after the embeddings and after each layer. A causal
LM's "logit lens" reads the last position (where the next token is predicted) through the final norm and
the LM head. The rank and probability of the final top-k words show at which depth the answer forms; the
last layer is exactly what the model predicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.anatomy import check_loaded, encode, hidden_states, require_mlm, token_text
from lmstudio_app.core.inside.decoder_anatomy import layer_outputs, stack_modules
from lmstudio_app.core.models.family import adapter_for
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
    follows: str = "mask"  # or "next token" (a causal LM's last position)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "tokens": self.tokens,
            "position": self.position,
            "follows": self.follows,
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
    if loaded.model is not None and adapter_for(loaded.model, loaded.tokenizer).causal_mask:
        return _next_token_lens(loaded, text, top_k=top_k, mask=mask, text_b=text_b, state=state)
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
    return _lens(loaded, enc.tokens, position, probs, top_k, state=state)


def _next_token_lens(
    loaded: Any, text: str, *, top_k: int, mask: int, text_b: str | None, state: TaskState
) -> LayerLens:
    """The logit lens: softmax(LMHead(FinalNorm(h_ℓ))) at the last position, for every layer ℓ."""
    import torch

    check_loaded(loaded, decoders=True)
    adapter = adapter_for(loaded.model, loaded.tokenizer)
    if "cross" in adapter.attention_kinds:
        raise UserError(
            f"{loaded.name} is an encoder-decoder; the layer lens follows a masked LM's mask or a causal LM's "
            "next token (e.g. the embedded minilm-clm or gpt2)."
        )
    if mask or text_b:
        raise UserError(
            f"{loaded.name} is a causal LM: its lens follows the next token after one text (no mask number, "
            "no sentence B)."
        )
    if not text or not text.strip():
        raise UserError("The text is empty: type the start of a sentence.")
    inputs = adapter.encode(text)
    ids = inputs["input_ids"][0].tolist()
    state.progress(0.2, "Running the model")
    out, own = layer_outputs(loaded.model, stack_modules(loaded.model), inputs)
    state.raise_if_stopped()
    state.progress(0.7, "Reading every layer through the final norm and the LM head")
    norm, head = adapter.final_norm(), adapter.lm_head()
    with torch.inference_mode():
        rows = torch.stack([out.hidden_states[0][0, -1], *(h[0, -1] for h in own)])  # raw residual stream
        probs = head(norm(rows) if norm is not None else rows).float().softmax(-1)
    tokens = [t or f"[id {i}]" for t, i in zip(loaded.tokenizer.convert_ids_to_tokens(ids), ids, strict=True)]
    return _lens(loaded, tokens, len(ids) - 1, probs, top_k, state=state, follows="next token")


def _lens(
    loaded: Any, tokens: list[str], position: int, probs: Any, top_k: int, *, state: TaskState,
    follows: str = "mask",
) -> LayerLens:  # fmt: skip
    """Follow the last row's top-k words through every row of `probs` (L + 1, vocabulary)."""
    import torch

    tokenizer = loaded.tokenizer
    with torch.inference_mode():
        top = probs[-1].topk(min(top_k, probs.shape[-1]))
        ids = top.indices
        picked = probs[:, ids]  # (L + 1, k)
        ranks = (probs[:, None, :] > picked[:, :, None]).sum(-1) + 1
        best_p, best_id = probs.max(-1)
    state.progress(1.0, "Lens ready")
    return LayerLens(
        model=loaded.name,
        tokens=tokens,
        position=position,
        layer_names=["embeddings", *(f"layer {k}" for k in range(len(probs) - 1))],
        words=[token_text(tokenizer, t) for t in ids.tolist()],
        word_ids=ids.tolist(),
        probs=picked.cpu().numpy(),
        ranks=ranks.cpu().numpy(),
        best=[
            (token_text(tokenizer, t), float(p))
            for t, p in zip(best_id.tolist(), best_p.tolist(), strict=True)
        ],
        follows=follows,
    )
