"""Where a decoder layer keeps Q, K, V, W^O, its norms and its feed-forward block, one small description
per architecture, and one forward pass that keeps every layer's own output.

The steps view rebuilds a decoder layer from these pieces. Each `Layout` names the attribute paths that
identify the architecture inside a layer (GPT-2's fused c_attn, Llama's q_proj/k_proj/v_proj with RMSNorm,
rotary positions and grouped K/V heads, BERT used as a decoder, BART's and T5's cross-attention) and how
to read them; a layer no layout describes gets one line naming what is missing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.anatomy import base_model, bert_layer

Affine = tuple[Any, Any]  # (weight (out, in), bias or None) as float32 tensors: y = x·Wᵀ + b


@dataclass(frozen=True)
class DecoderLayer:
    """One attention block and its feed-forward block by role.

    post-norm (BERT, BART): Z = Norm1(x + MultiHead(x)), X′ = Norm2(Z + FFN(Z));
    pre-norm (GPT-2, Llama, T5): Z = x + MultiHead(Norm1(x)), X′ = Z + FFN(Norm2(Z)).
    """

    layout: str
    query: Affine
    key: Affine
    value: Affine
    output: Affine
    norm1: Any
    norm2: Any
    ffn_in: Affine
    ffn_gate: Affine | None  # gated FFN (Llama, T5 v1.1): act(Z·W_gate) ⊙ (Z·W_1)
    activation: Callable[[Any], Any]
    ffn_out: Affine
    n_heads: int
    n_kv_heads: int
    head_dim: int
    scale: float  # 1/√d_k, or 1 where the model folds it into W^Q (T5)
    pre_norm: bool
    module: Any  # the layer whose output the model computes
    attention: Any  # the attention block whose input is the cross-attention's x


def _get(module: Any, path: str) -> Any:
    for part in path.split("."):
        module = module[int(part)] if part.isdigit() else getattr(module, part, None)
        if module is None:
            return None
    return module


def _linear(module: Any) -> Affine:
    bias = module.bias.detach().float() if getattr(module, "bias", None) is not None else None
    return module.weight.detach().float(), bias


def _conv1d(module: Any) -> Affine:
    """GPT-2's Conv1D stores (in, out), the transpose of nn.Linear."""
    return module.weight.detach().float().T, module.bias.detach().float()


def _gpt2(layer: Any, model: Any) -> DecoderLayer:
    att, mlp = layer.attn, layer.mlp
    if model.config.scale_attn_by_inverse_layer_idx:
        raise UserError(
            f"{type(model).__name__} scales attention by the layer index, which the steps do not show."
        )
    w, b = _conv1d(att.c_attn)
    (wq, wk, wv), (bq, bk, bv) = w.chunk(3, 0), b.chunk(3, 0)
    return DecoderLayer(
        "GPT-2", (wq, bq), (wk, bk), (wv, bv), _conv1d(att.c_proj), layer.ln_1, layer.ln_2,
        _conv1d(mlp.c_fc), None, mlp.act, _conv1d(mlp.c_proj), int(att.num_heads), int(att.num_heads),
        int(att.head_dim), float(att.scaling), True, layer, att,
    )  # fmt: skip


def _llama(layer: Any, model: Any) -> DecoderLayer:
    att, mlp, config = layer.self_attn, layer.mlp, model.config
    heads = int(config.num_attention_heads)
    return DecoderLayer(
        "Llama", _linear(att.q_proj), _linear(att.k_proj), _linear(att.v_proj), _linear(att.o_proj),
        layer.input_layernorm, layer.post_attention_layernorm, _linear(mlp.up_proj), _linear(mlp.gate_proj),
        mlp.act_fn, _linear(mlp.down_proj), heads, int(getattr(config, "num_key_value_heads", None) or heads),
        int(att.head_dim), float(att.scaling), True, layer, att,
    )  # fmt: skip


def _bert(layer: Any, _model: Any) -> DecoderLayer:
    p = bert_layer(layer)
    assert p is not None  # the layout's paths were checked
    return DecoderLayer(
        "BERT", _linear(p.query), _linear(p.key), _linear(p.value), _linear(p.output), p.norm1, p.norm2,
        _linear(p.ffn_in), None, p.activation, _linear(p.ffn_out), p.n_heads, p.n_heads, p.head_dim,
        p.head_dim**-0.5, False, layer, layer.attention,
    )  # fmt: skip


def _bart_cross(layer: Any, model: Any) -> DecoderLayer:
    att = layer.encoder_attn
    if getattr(model.get_decoder(), "layer_norm", None) is not None:  # mBART, Pegasus: pre-norm layers
        raise UserError(
            f"{type(model).__name__} normalises before each block, which the BART steps do not show."
        )
    return DecoderLayer(
        "BART", _linear(att.q_proj), _linear(att.k_proj), _linear(att.v_proj), _linear(att.out_proj),
        layer.encoder_attn_layer_norm, layer.final_layer_norm, _linear(layer.fc1), None, layer.activation_fn,
        _linear(layer.fc2), int(att.num_heads), int(att.num_heads), int(att.head_dim), float(att.scaling),
        False, layer, att,
    )  # fmt: skip


def _t5_cross(block: Any, _model: Any) -> DecoderLayer:
    cross, ff = block.layer[1], block.layer[2]
    att, dense = cross.EncDecAttention, ff.DenseReluDense
    gated = hasattr(dense, "wi_0")
    return DecoderLayer(
        "T5", _linear(att.q), _linear(att.k), _linear(att.v), _linear(att.o), cross.layer_norm, ff.layer_norm,
        _linear(dense.wi_1 if gated else dense.wi), _linear(dense.wi_0) if gated else None, dense.act,
        _linear(dense.wo), int(att.n_heads), int(att.n_heads), int(att.key_value_proj_dim), 1.0, True,
        block, cross,
    )  # fmt: skip


@dataclass(frozen=True)
class Layout:
    """An architecture as attribute paths: `stack` (the layers, in the base model), `needs` (inside a
    layer), `unknown` (parts whose formula this description lacks) and how to read a layer."""

    name: str
    stack: str
    needs: tuple[str, ...]
    build: Callable[[Any, Any], DecoderLayer]
    unknown: tuple[str, ...] = ()

    def matches(self, layer: Any) -> bool:
        return all(_get(layer, p) is not None for p in self.needs)


SELF_LAYOUTS = (
    Layout("GPT-2", "h", ("attn.c_attn", "attn.c_proj", "ln_1", "ln_2", "mlp.c_fc"), _gpt2, ("attn.q_attn",)),
    Layout(
        "Llama",
        "layers",
        ("self_attn.q_proj", "self_attn.o_proj", "input_layernorm", "mlp.gate_proj"),
        _llama,
        ("self_attn.q_norm", "pre_feedforward_layernorm", "self_attn.sinks"),
    ),  # fmt: skip
    Layout(
        "BERT", "encoder.layer", ("attention.self.query", "attention.output.dense", "output.LayerNorm"), _bert
    ),
)
CROSS_LAYOUTS = (
    Layout("BART", "decoder.layers", ("encoder_attn.q_proj", "encoder_attn_layer_norm", "fc1"), _bart_cross),
    Layout("T5", "decoder.block", ("layer.1.EncDecAttention.q", "layer.2.DenseReluDense"), _t5_cross),
)
KNOWN = "GPT-2, Llama-like (Llama, Mistral, Qwen2, SmolLM) and BERT-as-decoder layers"


def decoder_layers(model: Any, name: str, *, cross: bool = False) -> list[DecoderLayer]:
    """Every layer of `model` by role, from the first layout that describes all of them; else one line."""
    base = base_model(model)
    for layout in CROSS_LAYOUTS if cross else SELF_LAYOUTS:
        stack = _get(base, layout.stack)
        if not stack or not all(layout.matches(layer) for layer in stack):
            continue
        extra = [p for p in layout.unknown if _get(stack[0], p) is not None]
        if extra:
            raise UserError(
                f"{name} looks like a {layout.name} model but adds {', '.join(extra)}, which the step-by-step "
                "view has no formula for."
            )
        return [layout.build(layer, model) for layer in stack]
    kind = getattr(model.config, "model_type", "?")
    what = "BART's and T5's cross-attention" if cross else KNOWN
    raise UserError(
        f"{name} ({kind}) has a layer layout the step-by-step view does not know: it reads {what}."
    )


def rotary(model: Any, n: int, device: Any) -> tuple[Any, Any] | None:
    """cos, sin (n, d_k) of the model's rotary position embedding, None for models without one."""
    import torch

    emb = getattr(base_model(model), "rotary_emb", None)
    if emb is None:
        return None
    positions = torch.arange(n, device=device)[None]
    with torch.inference_mode():
        cos, sin = emb(torch.zeros(1, device=device), positions)
    return cos[0].float(), sin[0].float()


def norm_name(module: Any) -> str:
    return "RMSNorm" if hasattr(module, "variance_epsilon") else "LayerNorm"


def apply_norm(module: Any, x: Any) -> Any:
    """LayerNorm (x − mean)/√(var + ε)·γ + β, or RMSNorm x/√(mean(x²) + ε)·γ (Llama, T5)."""
    import torch
    import torch.nn.functional as F  # noqa: N812 (torch's convention)

    if hasattr(module, "variance_epsilon"):
        return (
            x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + module.variance_epsilon) * module.weight.float()
        )
    if not isinstance(module, torch.nn.LayerNorm):
        raise UserError(f"The norm {type(module).__name__} is neither LayerNorm nor RMSNorm.")
    weight = module.weight.float() if module.weight is not None else None
    bias = module.bias.float() if module.bias is not None else None
    return F.layer_norm(x, module.normalized_shape, weight, bias, module.eps)


def layer_outputs(model: Any, modules: list[Any], inputs: dict[str, Any]) -> tuple[Any, list[Any]]:
    """(the model's outputs with hidden states, each layer's own output): the last hidden state of
    GPT-2, Llama and T5 already has the final norm applied, so a hook keeps the layer's raw output."""
    import torch

    captured: list[Any] = [None] * len(modules)
    me = threading.get_ident()

    def keeper(index: int) -> Any:
        def keep(_module: Any, _args: Any, out: Any) -> None:
            if threading.get_ident() == me:
                captured[index] = (out[0] if isinstance(out, tuple) else out).detach()

        return keep

    hooks = [m.register_forward_hook(keeper(k)) for k, m in enumerate(modules)]
    try:
        with torch.inference_mode():
            out = model(**inputs, output_hidden_states=True)
    finally:
        for hook in hooks:
            hook.remove()
    return out, captured


def stack_modules(model: Any) -> list[Any]:
    """The decoder's layer modules, whatever the architecture: the ModuleList of config's layer count."""
    import torch

    count = getattr(model.config, "num_hidden_layers", None)
    for _name, module in base_model(model).named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == count:
            return list(module)
    raise UserError(f"{type(model).__name__}: no list of {count} layers found to read the lens from.")
