"""Attention weights from one eager forward pass, and what we compute from them.

`extract_attention` runs the model's base (encoder, or a causal LM's decoder) once with eager attention
and `output_attentions`, hooking the query/key projections on the way so that a neuron-style view works on
any BERT-like model; encoder-decoders go to core/attention/seq2seq (three attentions from one pass).
Everything returned is plain numpy, so the GUI, the CLI and the exporters share one `AttentionResult`.
The switch to eager attention (and why it is safe on a shared model) is in core/models/attention_weights.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from typing import Any

import numpy as np

from lmstudio_app.core.attention.result import MASKED_NOTE, MAX_TOKENS, AttentionResult
from lmstudio_app.core.attention.seq2seq import extract_seq2seq
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.attention_weights import eager_attention
from lmstudio_app.core.models.family import adapter_for
from lmstudio_app.core.tasks import TaskState, ensure_state

__all__ = [
    "MASKED_NOTE",
    "MAX_TOKENS",
    "AttentionResult",
    "extract_attention",
]  # the result types live in .result

# Names of the query and key projections inside one self-attention module, per model family.
_QK_NAMES = (
    ("query", "key"),
    ("q_lin", "k_lin"),
    ("query_proj", "key_proj"),
    ("q_proj", "k_proj"),
    ("q", "k"),
)


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


def _causal_inputs(adapter: Any, text: str, limit: int) -> tuple[dict[str, Any], bool]:
    """The prompt as the model continues it (the adapter puts the BOS first), cut to `limit` tokens."""
    inputs = adapter.encode(text)
    truncated = inputs["input_ids"].shape[1] > limit
    return {k: v[:, :limit] for k, v in inputs.items()}, truncated


def _per_head(x: Any, n_heads: int, head_dim: int) -> np.ndarray:
    """(1, n, width) projections -> (heads, n, head_dim); grouped-query keys are repeated per query head."""
    h = x[0].float().cpu().reshape(x.shape[1], -1, head_dim).permute(1, 0, 2)
    return h.repeat_interleave(n_heads // h.shape[0], dim=0).numpy()


def _queries_keys(captured: dict[str, list[Any]], att: np.ndarray) -> tuple[np.ndarray | None, ...]:
    """Per-layer, per-head queries and keys when one q/k pair per layer was seen and their widths fit."""
    n_layers, n_heads = att.shape[0], att.shape[1]
    if len(captured["q"]) != n_layers or len(captured["k"]) != n_layers:
        return None, None
    q_width, k_width = captured["q"][0].shape[-1], captured["k"][0].shape[-1]
    head_dim = q_width // n_heads
    if q_width % n_heads or k_width % head_dim or n_heads % (k_width // head_dim):
        return None, None
    queries = np.stack([_per_head(q, n_heads, head_dim) for q in captured["q"]])
    keys = np.stack([_per_head(k, n_heads, head_dim) for k in captured["k"]])
    return queries, keys


def extract_attention(
    loaded: Any,
    text: str,
    text_b: str | None = None,
    *,
    target: str | None = None,
    state: TaskState | None = None,
) -> Any:
    """One eager forward of `loaded`'s base model on `text` (or the pair text, text_b) -> AttentionResult.

    A causal LM reads the prompt alone (its BOS first, as it would continue it) and its result is `causal`;
    an encoder-decoder reads `text` as the source and `target` (default: its greedy output) in the decoder
    and gives a core/attention/seq2seq.Seq2SeqAttention.
    """
    import torch

    state = ensure_state(state)
    if not text or not text.strip():
        raise UserError("Type a sentence to see its attention.")
    if text_b is not None and not text_b.strip():
        text_b = None
    model, tokenizer = loaded.model, loaded.tokenizer
    if model is None or tokenizer is None:
        raise UserError(f"{loaded.name} has been unloaded: load it again in the Models tab.")
    adapter = adapter_for(model, tokenizer)
    if "cross" in adapter.attention_kinds:
        if text_b is not None:
            raise UserError(
                f"{loaded.name} is an encoder-decoder: it reads a source and a target, not a sentence pair "
                "(give the target instead)."
            )
        return extract_seq2seq(loaded, adapter, text, target, state=state)
    if target is not None and target.strip():
        raise UserError(
            f"{loaded.name} has no decoder reading a target: a target is for encoder-decoders such as T5 or BART."
        )
    if adapter.causal_mask and text_b is not None:
        raise UserError(
            f"{loaded.name} is a causal LM: it reads one text, not a sentence pair (leave sentence B empty)."
        )
    base = getattr(model, "base_model", model)
    limit = min(MAX_TOKENS, int(getattr(base.config, "max_position_embeddings", MAX_TOKENS) or MAX_TOKENS))
    state.progress(0.1, "Tokenizing")
    if adapter.causal_mask:
        enc, truncated = _causal_inputs(adapter, text, min(limit, adapter.context_length or limit))
    else:
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

    hooks = []
    for q_mod, k_mod in _qk_modules(base):
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
    queries, keys = _queries_keys(captured, att)
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
        causal=adapter.causal_mask,
    )
