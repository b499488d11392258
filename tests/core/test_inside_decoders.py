"""Inside for decoders: the masked self-attention and cross-attention steps reproduce the model's own
tensors (caught by hooks on its own modules, its eager attention maps and hidden states), the causal mask
is -inf exactly above the diagonal, and the logit lens ends on the model's own next-token distribution."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
import torch
import transformers as T

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.anatomy import base_model
from lmstudio_app.core.inside.heads import head_contributions
from lmstudio_app.core.inside.lens import layer_lens
from lmstudio_app.core.inside.steps import Choice, attention_steps
from lmstudio_app.core.models.registry import LoadedModel, ModelRegistry

TEXT = "the cat sat on the mat"  # <s> + 6 words
SOURCE, TARGET = "the cat sat on the mat", "a dog ran to"
# Per architecture: the layer list, W^O (its input is Concat(heads), its output MultiHead), the FFN block.
CAUSAL = {
    "gpt2": ("h", "attn.c_proj", "mlp"),
    "llama": ("layers", "self_attn.o_proj", "mlp"),
    "bert-clm": ("encoder.layer", "attention.output.dense", "output.dense"),
}
CROSS = {
    "bart": ("decoder.layers", "encoder_attn.out_proj"),
    "t5": ("decoder.block", "layer.1.EncDecAttention.o"),
}


@pytest.fixture(scope="module")
def models(tiny_decoder):
    registry = ModelRegistry()
    return {kind: registry.load(str(tiny_decoder(kind))) for kind in [*CAUSAL, *CROSS]}


def _get(module, path: str):
    for part in path.split("."):
        module = module[int(part)] if part.isdigit() else getattr(module, part)
    return module


@contextmanager
def _eager(model):
    """The model's own attention maps need the eager implementation."""
    previous = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        yield
    finally:
        model.set_attn_implementation(previous)


def _own_run(loaded, inputs: dict, watched: dict):
    """The model's outputs with attentions and hidden states, and (input, output) of each watched module."""
    seen = {}

    def first(value):  # a layer may return a tuple (hidden states, ...) or the tensor alone
        return (value[0] if isinstance(value, tuple) else value)[0].double()

    hooks = [
        module.register_forward_hook(
            lambda _m, args, out, name=name: seen.__setitem__(name, (first(args), first(out)))
        )
        for name, module in watched.items()
    ]
    try:
        with _eager(loaded.model), torch.no_grad():
            out = loaded.model(**inputs, output_hidden_states=True, output_attentions=True)
    finally:
        for hook in hooks:
            hook.remove()
    return out, seen


def _close(ours, theirs, atol: float = 1e-5) -> None:
    np.testing.assert_allclose(
        np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64), atol=atol
    )


@pytest.mark.parametrize("kind", list(CAUSAL))
@pytest.mark.parametrize(("layer", "head", "token"), [(0, 0, 0), (1, 1, 4), (1, 0, 6)])
def test_masked_self_attention_reproduces_the_models_own_tensors(models, kind, layer, head, token):
    loaded = models[kind]
    steps = attention_steps(loaded, TEXT, Choice(layer, head, token))
    stack, w_o, ffn = CAUSAL[kind]
    block = _get(base_model(loaded.model), stack)[layer]
    ids = [2, *loaded.tokenizer(TEXT, add_special_tokens=False)["input_ids"]]
    inputs = {"input_ids": torch.tensor([ids])}
    out, seen = _own_run(loaded, inputs, {"w_o": _get(block, w_o), "ffn": _get(block, ffn), "layer": block})
    n = len(ids)
    assert steps.tokens == ["<s>", *TEXT.split()] and steps.form.kind == "masked"
    # the causal mask: -inf exactly above the diagonal, finite everywhere else
    assert steps.score_map.shape == (n, n)
    assert (np.isneginf(steps.score_map) == np.triu(np.ones((n, n), dtype=bool), 1)).all()
    assert np.isfinite(steps.score_map[np.tril_indices(n)]).all()
    assert np.isneginf(steps.scores[token + 1 :]).all() and (steps.weights[token + 1 :] == 0).all()
    # x is the model's input to the layer; the softmax is its own attention map, row and head
    _close(steps.x, out.hidden_states[layer][0, token])
    _close(steps.weights, out.attentions[layer][0, head, token])
    _close(steps.attention_map, out.attentions[layer][0, head])
    seen_scores = steps.scores[: token + 1]
    e = np.exp(seen_scores - seen_scores.max())
    _close(steps.weights[: token + 1], e / e.sum(), atol=1e-6)
    # Concat(heads) is W^O's own input, MultiHead its output; FFN the feed-forward block's output
    _close(steps.heads.ravel(), seen["w_o"][0][token])
    _close(steps.multi_head, seen["w_o"][1][token])
    _close(steps.ffn, seen["ffn"][1][token])
    # the layer's output: the next hidden state (the final norm is applied to the last one)
    _close(steps.output, seen["layer"][1][token])
    final = getattr(base_model(loaded.model), "ln_f", None) or getattr(base_model(loaded.model), "norm", None)
    if layer + 1 < steps.n_layers or final is None:
        _close(steps.output, out.hidden_states[layer + 1][0, token])
    else:
        with torch.no_grad():
            normed = final(torch.from_numpy(steps.output)).numpy()
        _close(normed, out.hidden_states[-1][0, token])
    assert steps.max_error < 1e-5


def test_llama_rotary_and_grouped_heads_are_the_models(models):
    loaded = models["llama"]
    steps = attention_steps(loaded, TEXT, Choice(1, 3, 5))
    assert steps.form.rotary and steps.form.n_kv_heads == 2 and steps.form.norm == "RMSNorm"
    assert steps.form.gated and steps.form.pre_norm and steps.shapes["W^K"] == (32, 16)
    # q and k_j as transformers itself computes them: RMSNorm, projection, its own rotary embedding
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    base = base_model(loaded.model)
    layer = base.layers[1]
    ids = torch.tensor([[2, *loaded.tokenizer(TEXT, add_special_tokens=False)["input_ids"]]])
    with torch.no_grad():
        x = loaded.model(ids, output_hidden_states=True).hidden_states[1]
        a = layer.input_layernorm(x)
        q = layer.self_attn.q_proj(a).view(1, 7, 4, 8).transpose(1, 2)
        k = layer.self_attn.k_proj(a).view(1, 7, 2, 8).transpose(1, 2)
        cos, sin = base.rotary_emb(x, torch.arange(7)[None])
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
    _close(steps.q, q[0, 3, 5])
    _close(steps.keys, k[0, 1])  # query head 3 reads key/value head 3 // 2 = 1


@pytest.mark.parametrize("kind", list(CROSS))
@pytest.mark.parametrize(("layer", "head", "token"), [(0, 0, 0), (1, 1, 3)])
def test_cross_attention_equals_the_models_cross_attentions(models, kind, layer, head, token):
    loaded = models[kind]
    steps = attention_steps(loaded, SOURCE, Choice(layer, head, token), TARGET)
    stack, w_o = CROSS[kind]
    block = _get(base_model(loaded.model), stack)[layer]
    tok = loaded.tokenizer
    start = loaded.model.config.decoder_start_token_id
    inputs = {
        "input_ids": tok(SOURCE, return_tensors="pt")["input_ids"],
        "decoder_input_ids": torch.tensor([[start, *tok(TARGET, add_special_tokens=False)["input_ids"]]]),
    }
    out, seen = _own_run(loaded, inputs, {"w_o": _get(block, w_o), "layer": block})
    n_dec, n_enc = inputs["decoder_input_ids"].shape[1], inputs["input_ids"].shape[1]
    assert steps.form.kind == "cross" and steps.form.layout == {"bart": "BART", "t5": "T5"}[kind]
    assert steps.key_tokens == tok.convert_ids_to_tokens(inputs["input_ids"][0].tolist())
    assert steps.attention_map.shape == steps.score_map.shape == (n_dec, n_enc)
    assert np.isfinite(steps.score_map).all()  # cross-attention hides nothing: every source token is seen
    _close(steps.weights, out.cross_attentions[layer][0, head, token])
    _close(steps.attention_map, out.cross_attentions[layer][0, head])
    # keys from the encoder's last layer, projected by the layer's own W^K
    w_k = _get(block, w_o.rsplit(".", 1)[0] + (".k_proj" if kind == "bart" else ".k"))
    with torch.no_grad():
        keys = w_k(out.encoder_last_hidden_state[0]).view(n_enc, -1, steps.head_dim)[:, head]
    _close(steps.keys, keys)
    _close(steps.heads.ravel(), seen["w_o"][0][token])
    _close(steps.multi_head, seen["w_o"][1][token])
    _close(steps.output, seen["layer"][1][token])
    if layer == 0:
        _close(steps.output, out.decoder_hidden_states[1][0, token])
    assert steps.max_error < 1e-5
    assert steps.to_json()["key_tokens"] == steps.key_tokens


@pytest.mark.parametrize("kind", list(CAUSAL))
def test_logit_lens_ends_on_the_models_next_token_distribution(models, kind):
    loaded = models[kind]
    lens = layer_lens(loaded, "the cat sat on the", top_k=5)
    ids = torch.tensor([[2, *loaded.tokenizer("the cat sat on the", add_special_tokens=False)["input_ids"]]])
    with torch.no_grad():
        out = loaded.model(ids, output_hidden_states=True)
    probs = out.logits[0, -1].double().softmax(-1)
    top = probs.topk(5)
    assert lens.follows == "next token" and lens.position == 5 and lens.tokens[-1] == "the"
    assert lens.word_ids == top.indices.tolist()
    _close(lens.probs[-1], top.values, atol=1e-6)
    assert lens.ranks[-1].tolist() == [1, 2, 3, 4, 5]
    assert lens.layer_names == ["embeddings", "layer 0", "layer 1"]
    # an inner row: the final norm and the LM head on that layer's hidden state, computed here
    base = base_model(loaded.model)
    norm = getattr(base, "ln_f", None) or getattr(base, "norm", None) or torch.nn.Identity()
    head = loaded.model.cls if kind == "bert-clm" else loaded.model.lm_head
    with torch.no_grad():
        inner = head(norm(out.hidden_states[1][0, -1])).double().softmax(-1)
    _close(lens.probs[1], inner[top.indices], atol=1e-6)
    assert lens.to_json()["follows"] == "next token"


def test_one_line_refusals(models, tiny_decoder):
    with pytest.raises(UserError, match="follows a masked LM's mask or a causal LM's next token"):
        layer_lens(models["t5"], "the cat")
    with pytest.raises(UserError, match="no mask number, no sentence B"):
        layer_lens(models["gpt2"], "the cat", mask=1)
    with pytest.raises(UserError, match="reads one text: clear sentence B"):
        attention_steps(models["gpt2"], "the cat", Choice(), "a dog")
    with pytest.raises(
        UserError, match="this view follows an encoder.*Self-attention and Layer lens take it"
    ):
        head_contributions(models["gpt2"], "the cat")
    with pytest.raises(UserError, match="There is no token 3: choose a token from 0 to 2"):
        attention_steps(models["gpt2"], "the cat", Choice(0, 0, 3))
    tokenizer = models["llama"].tokenizer
    qwen3 = T.Qwen3Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8,
    )  # fmt: skip
    neox = T.GPTNeoXConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
    )
    for model, message in (
        (T.Qwen3ForCausalLM(qwen3), "looks like a Llama model but adds self_attn.q_norm"),
        (T.GPTNeoXForCausalLM(neox), "has a layer layout the step-by-step view does not know"),
    ):
        loaded = LoadedModel(
            "x",
            "x",
            None,
            model.eval(),
            tokenizer,
            "cpu",
            "float32",
            type(model).__name__,
            ("causal-lm",),
            0,
            0,
        )
        with pytest.raises(UserError, match=message) as err:
            attention_steps(loaded, "the cat", Choice())
        assert "\n" not in str(err.value)
