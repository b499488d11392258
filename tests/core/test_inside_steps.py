"""Self-attention step by step: the shown pieces rebuild the layer's output the model itself computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers as T
from inside_archs import ARCHS, as_loaded, build_arch

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.anatomy import base_model, layers
from lmstudio_app.core.inside.steps import Choice, attention_steps
from lmstudio_app.core.models.registry import ModelRegistry

TEXT = "the cat sat on the mat"  # 8 tokens with [CLS] and [SEP]


@pytest.fixture(scope="module")
def models(tiny_model):
    registry = ModelRegistry()
    found = {"bert": registry.load(str(tiny_model("pretraining")))}
    found.update({arch: build_arch(arch, tiny_model("encoder")) for arch in ARCHS})
    return found


def _model_states(loaded, text: str):
    """The model's own per-layer hidden states and eager attention maps, computed here, not by the app."""
    enc = loaded.tokenizer(text, return_tensors="pt")
    base = base_model(loaded.model)
    if "token_type_ids" in enc and "token_type_ids" not in base.forward.__code__.co_varnames:
        del enc["token_type_ids"]
    previous = base.config._attn_implementation
    base.set_attn_implementation("eager")
    try:
        with torch.no_grad():
            out = base(**enc, output_hidden_states=True, output_attentions=True)
    finally:
        base.set_attn_implementation(previous)
    return [h[0].double().numpy() for h in out.hidden_states], [a[0].double().numpy() for a in out.attentions]


def _layer_norm(x: np.ndarray, module) -> np.ndarray:
    mean, var = x.mean(), x.var()
    w, b = module.weight.detach().double().numpy(), module.bias.detach().double().numpy()
    return (x - mean) / np.sqrt(var + module.eps) * w + b


def _lin(module) -> tuple[np.ndarray, np.ndarray]:
    return module.weight.detach().double().numpy(), module.bias.detach().double().numpy()


@pytest.mark.parametrize("arch", ["bert", *ARCHS])
@pytest.mark.parametrize(("layer", "head", "token"), [(0, 0, 0), (1, 1, 3)])
def test_pieces_rebuild_the_models_hidden_state(models, arch, layer, head, token):
    loaded = models[arch]
    steps = attention_steps(loaded, TEXT, Choice(layer, head, token))
    hidden, maps = _model_states(loaded, TEXT)
    part = layers(loaded.model)[layer]
    dk = steps.head_dim
    assert steps.tokens[0] in ("[CLS]", "<s>") and len(steps.tokens) == 8
    assert (
        steps.shapes["W^Q"] == (32, 32)
        and steps.shapes["W_1"] == (32, 64)
        and steps.shapes["W_2"] == (64, 32)
    )
    np.testing.assert_allclose(steps.x, hidden[layer][token], atol=1e-5)
    # scores = q·k_j / √d_k, weights = softmax(scores) = the model's own attention map for that head
    np.testing.assert_allclose(steps.scores, steps.keys @ steps.q / np.sqrt(dk), atol=1e-5)
    e = np.exp(steps.scores - steps.scores.max())
    np.testing.assert_allclose(steps.weights, e / e.sum(), atol=1e-6)
    np.testing.assert_allclose(steps.weights, maps[layer][head, token], atol=1e-5)
    np.testing.assert_allclose(steps.attention_map, maps[layer][head], atol=1e-5)
    # Σ w_j v_j is this head's slice of the concatenation
    np.testing.assert_allclose(steps.head_output, steps.weights @ steps.values, atol=1e-5)
    np.testing.assert_allclose(steps.heads[head], steps.head_output, atol=1e-6)
    # Concat(heads) W^O, residual + LayerNorm, FFN, residual + LayerNorm, rebuilt in float64 from the shown pieces
    w_o, b_o = _lin(part.output)
    multi_head = steps.heads.astype(np.float64).ravel() @ w_o.T + b_o
    np.testing.assert_allclose(steps.multi_head, multi_head, atol=1e-5)
    z = _layer_norm(steps.x.astype(np.float64) + multi_head, part.norm1)
    np.testing.assert_allclose(steps.z, z, atol=1e-4)
    w1, b1 = _lin(part.ffn_in)
    w2, b2 = _lin(part.ffn_out)
    inner = part.activation(torch.from_numpy(z @ w1.T + b1)).numpy()
    np.testing.assert_allclose(steps.ffn_hidden, inner, atol=1e-4)
    rebuilt = _layer_norm(z + inner @ w2.T + b2, part.norm2)
    np.testing.assert_allclose(rebuilt, hidden[layer + 1][token], atol=1e-4)
    np.testing.assert_allclose(steps.output, hidden[layer + 1][token], atol=1e-4)
    assert steps.max_error < 1e-4


def test_minilm_twelve_heads(minilm_dir):
    loaded = ModelRegistry().load(str(minilm_dir))
    steps = attention_steps(loaded, "the quick brown fox jumps over the lazy dog", Choice(5, 11, 4))
    assert (steps.n_layers, steps.n_heads, steps.head_dim) == (6, 12, 32)
    assert steps.heads.shape == (12, 32) and steps.shapes["W^O"] == (384, 384)
    assert steps.max_error < 1e-4
    assert steps.to_json()["max_error"] < 1e-4


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        (Choice(2, 0, 0), "There is no layer 2: choose a layer from 0 to 1."),
        (Choice(0, 5, 0), "There is no head 5: choose a head from 0 to 1."),
        (Choice(0, 0, 8), "There is no token 8: choose a token from 0 to 7."),
        (Choice(-1, 0, 0), "There is no layer -1"),
    ],
)
def test_out_of_range_choice_is_one_clear_line(models, choice, message):
    with pytest.raises(UserError, match="^" + message.replace(".", r"\.")) as err:
        attention_steps(models["bert"], TEXT, choice)
    assert "\n" not in str(err.value)


def test_relative_position_models_are_refused_with_a_reason(tiny_model):
    tokenizer = T.AutoTokenizer.from_pretrained(tiny_model("encoder"))
    config = T.MPNetConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2
    )
    loaded = as_loaded(T.MPNetForMaskedLM(config), tokenizer, "mpnet")
    with pytest.raises(UserError, match="does not have BERT's layer layout"):
        attention_steps(loaded, TEXT, Choice())
