"""A decoder layer step by step: masked self-attention (causal LMs) and cross-attention (encoder-decoders).

Masked self-attention is the encoder's formula with one more step: before the softmax, every score of
a key after the query is set to -inf (the causal mask), so a token reads only itself and what came
before. Cross-attention takes its queries from the decoder (Z1, the state after the layer's masked
self-attention) and its keys and values from the encoder's last layer X_L: Z2 = Norm(Z1 + MultiHead(Z1,
X_L, X_L)). Either way the layer is rebuilt from the model's weights and its result compared with the
layer's own output, caught by a hook during the same forward pass.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.anatomy import check_loaded
from lmstudio_app.core.inside.decoder_anatomy import (
    DecoderLayer,
    apply_norm,
    decoder_layers,
    layer_outputs,
    norm_name,
    rotary,
)
from lmstudio_app.core.inside.step_types import AttentionSteps, Choice, Form, check_choice
from lmstudio_app.core.models.family import adapter_for
from lmstudio_app.core.tasks import TaskState, ensure_state


def _lin(x: Any, affine: tuple[Any, Any]) -> Any:
    import torch.nn.functional as F  # noqa: N812 (torch's convention)

    return F.linear(x, *affine)


def _rotate(x: Any, cos_sin: tuple[Any, Any] | None) -> Any:
    """Rotary positions: x·cos + rotate_half(x)·sin, rotate_half(x) = (−x₂, x₁) over the two halves."""
    import torch

    if cos_sin is None:
        return x
    cos, sin = cos_sin[0][:, None], cos_sin[1][:, None]  # (n, 1, d_k): one angle set per position
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), -1) * sin


def _rebuild(
    part: DecoderLayer, xs: Any, memory: Any, *, causal: bool, cos_sin: Any = None
) -> dict[str, Any]:
    """Every piece of the layer for all query rows of `xs` (n, d); keys and values come from `memory`
    (m, d), which is `xs` itself for self-attention."""
    import torch

    h, kv, dk = part.n_heads, part.n_kv_heads, part.head_dim
    a = apply_norm(part.norm1, xs) if part.pre_norm else xs
    source = a if memory is None else memory
    q = _rotate(_lin(a, part.query).view(len(xs), h, dk), cos_sin)
    k = _rotate(_lin(source, part.key).view(len(source), kv, dk), cos_sin)
    v = _lin(source, part.value).view(len(source), kv, dk)
    k_all, v_all = k.repeat_interleave(h // kv, 1), v.repeat_interleave(h // kv, 1)  # head i reads i // g
    scores = torch.einsum("qhd,khd->hqk", q, k_all) * part.scale
    if causal:
        hidden = torch.ones(scores.shape[-2:], dtype=torch.bool, device=scores.device).triu(1)
        scores = scores.masked_fill(hidden, float("-inf"))
    weights = scores.softmax(-1)
    heads = torch.einsum("hqk,khd->qhd", weights, v_all)
    multi = _lin(heads.reshape(len(xs), h * dk), part.output)
    z = xs + multi if part.pre_norm else apply_norm(part.norm1, xs + multi)
    f_in = apply_norm(part.norm2, z) if part.pre_norm else z
    inner = part.activation(_lin(f_in, part.ffn_gate if part.ffn_gate is not None else part.ffn_in))
    if part.ffn_gate is not None:
        inner = inner * _lin(f_in, part.ffn_in)
    ffn = _lin(inner, part.ffn_out)
    out = z + ffn if part.pre_norm else apply_norm(part.norm2, z + ffn)
    return {"q": q, "k": k, "v": v, "scores": scores, "weights": weights, "heads": heads, "multi": multi,
            "z": z, "inner": inner, "ffn": ffn, "out": out}  # fmt: skip


def _shapes(part: DecoderLayer) -> dict[str, tuple[int, int]]:
    def xw(affine: tuple[Any, Any]) -> tuple[int, int]:  # stored (out, in); the formulas write x·W
        return (int(affine[0].shape[1]), int(affine[0].shape[0]))

    shapes = {"W^Q": xw(part.query), "W^K": xw(part.key), "W^V": xw(part.value), "W^O": xw(part.output)}
    shapes.update({"W_1": xw(part.ffn_in), "W_2": xw(part.ffn_out)})
    if part.ffn_gate is not None:
        shapes["W_gate"] = xw(part.ffn_gate)
    return shapes


def _tokens(tokenizer: Any, ids: list[int]) -> list[str]:
    return [t or f"[id {i}]" for t, i in zip(tokenizer.convert_ids_to_tokens(ids), ids, strict=True)]


def _steps(loaded: Any, part: DecoderLayer, pieces: dict[str, Any], given: dict[str, Any]) -> AttentionSteps:
    """The numbers of one head and query token, as the encoder's steps are shown."""
    choice, i, hd = given["choice"], given["choice"].token, given["choice"].head
    kv = hd // (part.n_heads // part.n_kv_heads)

    def np32(t: Any) -> np.ndarray:
        return t.detach().float().cpu().numpy()

    scores = pieces["scores"][hd]
    return AttentionSteps(
        model=loaded.name, tokens=given["tokens"], choice=choice, n_layers=given["n_layers"],
        n_heads=part.n_heads, head_dim=part.head_dim, shapes=_shapes(part), x=np32(given["xs"][i]),
        q=np32(pieces["q"][i, hd]), keys=np32(pieces["k"][:, kv]), values=np32(pieces["v"][:, kv]),
        scores=np32(scores[i]), weights=np32(pieces["weights"][hd, i]),
        attention_map=np32(pieces["weights"][hd]), head_output=np32(pieces["heads"][i, hd]),
        heads=np32(pieces["heads"][i]), multi_head=np32(pieces["multi"][i]), z=np32(pieces["z"][i]),
        ffn_hidden=np32(pieces["inner"][i]), ffn=np32(pieces["ffn"][i]), output=np32(pieces["out"][i]),
        model_output=np32(given["model_output"][i]), form=given["form"], key_tokens=given.get("key_tokens"),
        score_map=np32(scores),
    )  # fmt: skip


def _form(part: DecoderLayer, kind: str, *, rotary_: bool) -> Form:
    return Form(
        kind=kind, layout=part.layout, pre_norm=part.pre_norm, norm=norm_name(part.norm1),
        scale=part.scale, n_kv_heads=part.n_kv_heads if part.n_kv_heads != part.n_heads else None,
        rotary=rotary_, gated=part.ffn_gate is not None,
    )  # fmt: skip


def decoder_steps(
    loaded: Any, text: str, choice: Choice, text_b: str | None = None, *, state: TaskState | None = None
) -> AttentionSteps:
    """A causal LM's masked self-attention, or an encoder-decoder's cross-attention (`text` the source,
    `text_b` the decoder's text), rebuilt for one layer, head and query token."""
    check_loaded(loaded, decoders=True)
    if not text or not text.strip():
        raise UserError("The text is empty: type a sentence.")
    adapter = adapter_for(loaded.model, loaded.tokenizer)
    if "cross" in adapter.attention_kinds:
        return _cross_steps(loaded, adapter.encode(text_b or "", source=text), choice, ensure_state(state))
    if text_b:
        raise UserError(f"{loaded.name} is a decoder and reads one text: clear sentence B.")
    return _masked_steps(loaded, adapter.encode(text), choice, ensure_state(state))


def _masked_steps(loaded: Any, inputs: dict[str, Any], choice: Choice, state: TaskState) -> AttentionSteps:
    import torch

    parts = decoder_layers(loaded.model, loaded.name)
    ids = inputs["input_ids"][0].tolist()
    check_choice(choice, len(parts), parts[0].n_heads, len(ids))
    part = parts[choice.layer]
    state.progress(0.2, "Running the model")
    out, own = layer_outputs(loaded.model, [p.module for p in parts], inputs)
    state.raise_if_stopped()
    state.progress(0.7, f"Rebuilding layer {choice.layer}")
    cos_sin = rotary(loaded.model, len(ids), inputs["input_ids"].device)
    with torch.inference_mode():
        xs = out.hidden_states[choice.layer][0].float()  # the layer's input (raw: not the final norm)
        pieces = _rebuild(part, xs, None, causal=True, cos_sin=cos_sin)
    state.progress(1.0, "Steps ready")
    given = {"choice": choice, "tokens": _tokens(loaded.tokenizer, ids), "n_layers": len(parts), "xs": xs,
             "model_output": own[choice.layer][0], "form": _form(part, "masked", rotary_=cos_sin is not None)}  # fmt: skip
    return _steps(loaded, part, pieces, given)


def _cross_steps(loaded: Any, inputs: dict[str, Any], choice: Choice, state: TaskState) -> AttentionSteps:
    import torch

    parts = decoder_layers(loaded.model, loaded.name, cross=True)
    ids = inputs["decoder_input_ids"][0].tolist()
    check_choice(choice, len(parts), parts[0].n_heads, len(ids))
    part = parts[choice.layer]
    z1: list[Any] = []
    me = threading.get_ident()

    def keep(_module: Any, args: tuple, kwargs: dict) -> None:
        if threading.get_ident() == me:
            z1.append((args[0] if args else kwargs["hidden_states"]).detach())

    hook = part.attention.register_forward_pre_hook(keep, with_kwargs=True)
    state.progress(0.2, "Running the model")
    try:
        out, own = layer_outputs(loaded.model, [part.module], inputs)
    finally:
        hook.remove()
    state.raise_if_stopped()
    with torch.inference_mode():
        xs, memory = z1[0][0].float(), out.encoder_last_hidden_state[0].float()
        pieces = _rebuild(part, xs, memory, causal=False)
    state.progress(1.0, "Steps ready")
    given = {"choice": choice, "tokens": _tokens(loaded.tokenizer, ids), "n_layers": len(parts), "xs": xs,
             "model_output": own[0][0], "form": _form(part, "cross", rotary_=False),
             "key_tokens": _tokens(loaded.tokenizer, inputs["input_ids"][0].tolist())}  # fmt: skip
    return _steps(loaded, part, pieces, given)
