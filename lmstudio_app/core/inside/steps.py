"""Self-attention step by step for one layer, head and query token, from the model's own weights.

The model runs once (hidden states of every layer); then the layer is recomputed by hand for the chosen
token: q = xW^Q, k_j, v_j, the scores q·k_j/√d_k, their softmax, Σ w_j v_j, all heads concatenated times
W^O, the residual and LayerNorm, the feed-forward block, the second residual and LayerNorm. The last
piece is compared with the model's own hidden state after the layer, so the view proves its formulas.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lmstudio_app.core.inside.anatomy import LayerParts, encode, hidden_states, layers
from lmstudio_app.core.inside.step_types import AttentionSteps, Choice, check_choice
from lmstudio_app.core.models.family import adapter_for
from lmstudio_app.core.tasks import TaskState, ensure_state


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
    """Run `loaded` once on the text, then rebuild `choice.layer` for `choice.token` piece by piece;
    a decoder's masked self-attention (or an encoder-decoder's cross-attention) has its own engine."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    state = ensure_state(state)
    if loaded.model is not None and adapter_for(loaded.model, loaded.tokenizer).causal_mask:
        from lmstudio_app.core.inside.decoder_steps import decoder_steps

        return decoder_steps(loaded, text, choice, text_b, state=state)
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
