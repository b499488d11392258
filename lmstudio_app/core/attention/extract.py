"""Attention weights from one eager forward pass, and what we compute from them.

`extract_attention` runs the model's base (encoder) once with eager attention and `output_attentions`,
hooking the query/key projections on the way so that a neuron-style view works on any BERT-like model.
Everything returned is plain numpy, so the GUI, the CLI and the exporters share one `AttentionResult`.
The switch to eager attention (and why it is safe on a shared model) is in core/models/attention_weights.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.attention_weights import eager_attention
from lmstudio_app.core.models.family import SEQ2SEQ, family_of
from lmstudio_app.core.tasks import TaskState, ensure_state

# Names of the query and key projections inside one self-attention module, per model family.
_QK_NAMES = (
    ("query", "key"),
    ("q_lin", "k_lin"),
    ("query_proj", "key_proj"),
    ("q_proj", "k_proj"),
    ("q", "k"),
)
MAX_TOKENS = 512


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

    @property
    def n_layers(self) -> int:
        return int(self.attentions.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.attentions.shape[1])

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    def window(self, start: int, stop: int) -> AttentionResult:
        """The tokens [start, stop) only, for long inputs; rows are left as they are (not renormalised)."""
        start, stop = max(0, start), min(self.n_tokens, stop)
        if stop - start < 1:
            raise UserError(f"The token range {start}-{stop} is empty: choose at least one token.")
        b = self.sentence_b_start
        b = b - start if b is not None and start < b < stop else None

        def qk(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[:, :, start:stop]

        return replace(
            self,
            tokens=self.tokens[start:stop],
            special=self.special[start:stop],
            attentions=self.attentions[:, :, start:stop, start:stop],
            sentence_b_start=b,
            queries=qk(self.queries),
            keys=qk(self.keys),
            offset=self.offset + start,
        )

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON export: model, tokens and the raw weights as nested lists [layer][head][query][key]."""
        return {"model": self.model, "tokens": list(self.tokens), "attentions": self.attentions.tolist()}


def _qk_modules(base: Any) -> list[tuple[Any, Any]]:
    """(query, key) projection modules of every self-attention layer, in layer order."""
    found = []
    for module in base.modules():
        children = dict(module.named_children())
        for q_name, k_name in _QK_NAMES:
            if q_name in children and k_name in children and hasattr(children[q_name], "weight"):
                found.append((children[q_name], children[k_name]))
                break
    return found


def _tokenize(tokenizer: Any, text: str, text_b: str | None, limit: int) -> tuple[Any, bool]:
    full = tokenizer(text, text_b, truncation=False, verbose=False)  # no "longer than" warning: we truncate
    truncated = len(full["input_ids"]) > limit
    enc = tokenizer(
        text,
        text_b,
        truncation="longest_first" if truncated else False,
        max_length=limit,
        return_tensors="pt",
    )
    return enc, truncated


def _sentence_b_start(enc: Any) -> int | None:
    # Fast tokenizers know which text each token came from; slow ones leave token_type_ids.
    with contextlib.suppress(ValueError, AttributeError):
        ids = enc.sequence_ids(0)
        return next((i for i, s in enumerate(ids) if s == 1), None)
    types = enc.get("token_type_ids")
    if types is not None:
        ones = (types[0] == 1).nonzero()
        return int(ones[0, 0]) if len(ones) else None
    return None


def extract_attention(
    loaded: Any, text: str, text_b: str | None = None, *, state: TaskState | None = None
) -> AttentionResult:
    """One eager forward of `loaded`'s base model on `text` (or the pair text, text_b) -> AttentionResult."""
    import torch

    state = ensure_state(state)
    if not text or not text.strip():
        raise UserError("Type a sentence to see its attention.")
    if text_b is not None and not text_b.strip():
        text_b = None
    model, tokenizer = loaded.model, loaded.tokenizer
    if model is None or tokenizer is None:
        raise UserError(f"{loaded.name} has been unloaded: load it again in the Models tab.")
    if family_of(model) == SEQ2SEQ:
        raise UserError(
            f"{loaded.name} is an encoder-decoder; its encoder, decoder and cross-attention views are not here "
            "yet: pick an encoder, a masked LM or a causal LM."
        )
    base = getattr(model, "base_model", model)
    limit = min(MAX_TOKENS, int(getattr(base.config, "max_position_embeddings", MAX_TOKENS) or MAX_TOKENS))
    state.progress(0.1, "Tokenizing")
    enc, truncated = _tokenize(tokenizer, text, text_b, limit)
    ids = enc["input_ids"][0].tolist()
    tokens = tokenizer.convert_ids_to_tokens(ids)
    specials = set(tokenizer.all_special_ids)
    special = np.array([i in specials for i in ids], dtype=bool)
    b_start = _sentence_b_start(enc) if text_b is not None else None
    accepted = set(inspect.signature(base.forward).parameters)  # DistilBERT takes no token_type_ids
    inputs = {
        k: v.to(loaded.device)
        for k, v in enc.items()
        if k in ("input_ids", "token_type_ids", "attention_mask") and k in accepted
    }

    captured: dict[str, list[Any]] = {"q": [], "k": []}
    me = threading.get_ident()

    def keep(name: str) -> Any:
        # The model may be shared with another panel running its own forward on another thread: keep ours only.
        def hook(_module: Any, _inputs: Any, out: Any) -> None:
            if threading.get_ident() == me:
                captured[name].append(out.detach())

        return hook

    pairs = _qk_modules(base)
    hooks = []
    for q_mod, k_mod in pairs:
        hooks.append(q_mod.register_forward_hook(keep("q")))
        hooks.append(k_mod.register_forward_hook(keep("k")))
    state.raise_if_stopped()
    state.progress(0.3, "Running the model with eager attention")
    try:
        with eager_attention(model), torch.inference_mode():
            out = base(**inputs, output_attentions=True)
    finally:
        for hook in hooks:
            hook.remove()
    state.raise_if_stopped()
    if not getattr(out, "attentions", None):
        raise UserError(
            f"{loaded.name} returns no attention weights (its attention kernel cannot run eagerly)."
        )
    att = torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()
    queries = keys = None
    n_layers, n_heads, n = att.shape[0], att.shape[1], att.shape[2]
    if len(captured["q"]) == n_layers and len(captured["k"]) == n_layers:

        def heads(x: Any) -> np.ndarray:  # (1, n, hidden) -> (heads, n, head_dim)
            return x[0].float().cpu().reshape(n, n_heads, -1).permute(1, 0, 2).numpy()

        queries = np.stack([heads(q) for q in captured["q"]])
        keys = np.stack([heads(k) for k in captured["k"]])
    state.progress(1.0, "Attention ready")
    return AttentionResult(
        model=loaded.name,
        tokens=list(tokens),
        special=special,
        attentions=att,
        sentence_b_start=b_start,
        queries=queries,
        keys=keys,
        truncated=truncated,
    )
