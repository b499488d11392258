"""Attention extraction, rollout, head statistics and the neuron view on real (tiny and embedded) models."""

from __future__ import annotations

import numpy as np
import pytest

from lmstudio_app.core.attention.analysis import display_matrix, head_statistics, neuron_view
from lmstudio_app.core.attention.extract import AttentionResult, extract_attention
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.attention_weights import eager_attention, rollout
from lmstudio_app.core.models.registry import ModelRegistry


@pytest.fixture(scope="module")
def registry() -> ModelRegistry:
    return ModelRegistry()


def _load(registry: ModelRegistry, path) -> object:
    return registry.load(str(path), duplicate="reuse")


@pytest.mark.parametrize("kind", ["pretraining", "mlm", "encoder", "classifier"])
def test_every_head_kind_gives_normalised_attention(tiny_model, registry, kind):
    loaded = _load(registry, tiny_model(kind))
    before = loaded.model.config._attn_implementation
    result = extract_attention(loaded, "the cat sat on the mat")
    assert result.tokens == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]
    assert result.attentions.shape == (2, 2, 8, 8)  # layers x heads x n x n
    np.testing.assert_allclose(result.attentions.sum(-1), 1.0, atol=1e-5)
    assert result.special.tolist() == [True] + [False] * 6 + [True]
    assert result.queries.shape == result.keys.shape == (2, 2, 8, 16)  # hidden 32 / 2 heads
    assert loaded.model.config._attn_implementation == before  # the eager switch is undone


def test_minilm_has_six_layers_of_twelve_heads(minilm_dir, registry):
    loaded = _load(registry, minilm_dir)
    result = extract_attention(loaded, "The cat sat on the mat.", "It was tired.")
    n = result.n_tokens
    assert result.attentions.shape == (6, 12, n, n)
    np.testing.assert_allclose(result.attentions.sum(-1), 1.0, atol=1e-4)
    assert result.tokens[result.sentence_b_start] == "it"
    assert result.tokens[result.sentence_b_start - 1] == "[SEP]"
    assert loaded.model.config._attn_implementation == "sdpa"


def test_neuron_view_products_reproduce_bert_attention(minilm_dir, registry):
    result = extract_attention(_load(registry, minilm_dir), "The dog chased the ball across the park.")
    nv = neuron_view(result, layer=3, head=7, token=2)
    assert nv.products.shape == (result.n_tokens, 32)
    np.testing.assert_allclose(nv.products.sum(-1) / np.sqrt(32), nv.scores)
    # BERT adds no positional bias to the scores, so softmax(q.k / sqrt(d)) is the attention row itself.
    np.testing.assert_allclose(nv.softmax, nv.attention, atol=1e-5)


def test_rollout_matches_a_hand_computed_two_layer_example():
    layer1 = [[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]]]  # head mean: all 0.5
    layer2 = [[[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]]]
    att = np.array([layer1, layer2])
    # A1 = 0.5 I + 0.5 mean = [[.75 .25] [.25 .75]]; A2 = [[1 0] [.5 .5]]; rollout = A2 @ A1
    expected = np.array([[0.75, 0.25], [0.5, 0.5]])
    np.testing.assert_allclose(rollout(att), expected)
    np.testing.assert_allclose(rollout(att).sum(-1), 1.0)


def _result(att: np.ndarray, special: list[bool]) -> AttentionResult:
    n = att.shape[-1]
    return AttentionResult("hand", [f"t{i}" for i in range(n)], np.array(special), att.astype(np.float32))


def test_head_statistics_by_hand():
    uniform = np.full((3, 3), 1 / 3)
    diagonal = np.eye(3)
    previous = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=float)
    att = np.array([[uniform, diagonal, previous]])
    stats = head_statistics(_result(att, [True, False, False]))
    np.testing.assert_allclose(stats.entropy[0], [np.log(3), 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(stats.distance[0], [(1 + 2 / 3 + 1) / 3, 0.0, 2 / 3], atol=1e-9)
    np.testing.assert_allclose(stats.special_share[0], [1 / 3, 1 / 3, 2 / 3], atol=1e-9)


def test_display_matrix_hides_renormalises_and_thresholds():
    m = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.4, 0.4, 0.2]])
    keep = np.array([False, True, True])
    hidden = display_matrix(m, keep)
    np.testing.assert_allclose(hidden, [[0.6, 0.3], [0.4, 0.2]])
    renorm = display_matrix(m, keep, renormalise=True)
    np.testing.assert_allclose(renorm, [[2 / 3, 1 / 3], [2 / 3, 1 / 3]], rtol=1e-6)
    np.testing.assert_allclose(
        display_matrix(m, None, threshold=0.35), [[0.5, 0, 0], [0, 0.6, 0], [0.4, 0.4, 0]]
    )


def test_window_slices_tokens_weights_and_pair_boundary(tiny_model, registry):
    result = extract_attention(_load(registry, tiny_model("mlm")), "the cat sat", "the dog ran")
    assert result.sentence_b_start == 5
    part = result.window(2, 8)
    assert part.tokens == result.tokens[2:8] and part.offset == 2
    assert part.attentions.shape == (2, 2, 6, 6)
    assert part.sentence_b_start == 3
    assert result.window(5, 9).sentence_b_start is None
    with pytest.raises(UserError):
        result.window(4, 4)


def test_json_has_the_documented_shape(tiny_model, registry):
    result = extract_attention(_load(registry, tiny_model("encoder")), "a red car")
    data = result.to_json()
    assert set(data) == {"model", "tokens", "causal", "attentions"} and data["causal"] is False
    assert len(data["attentions"]) == 2 and len(data["attentions"][0]) == 2
    assert len(data["attentions"][0][0]) == len(data["tokens"]) == len(data["attentions"][0][0][0])


def test_long_input_is_truncated_to_the_model_limit(tiny_model, registry):
    result = extract_attention(_load(registry, tiny_model("encoder")), " ".join(["cat"] * 300))
    assert result.truncated and result.n_tokens == 128  # tiny model: max_position_embeddings 128


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_is_a_user_error(tiny_model, registry, text):
    with pytest.raises(UserError, match="Type a sentence"):
        extract_attention(_load(registry, tiny_model("encoder")), text)


def test_neuron_view_rejects_out_of_range_choices(tiny_model, registry):
    result = extract_attention(_load(registry, tiny_model("encoder")), "a red car")
    with pytest.raises(UserError):
        neuron_view(result, 5, 0, 0)


def test_eager_switch_is_undone_even_when_the_pass_fails(tiny_model, registry):
    model = _load(registry, tiny_model("encoder")).model
    assert model.config._attn_implementation == "sdpa"
    with pytest.raises(RuntimeError), eager_attention(model):
        assert model.config._attn_implementation == "eager"
        raise RuntimeError("boom")
    assert model.config._attn_implementation == "sdpa"


def test_another_thread_using_the_same_model_meanwhile_does_not_mix_in(tiny_model, registry):
    import threading

    import torch

    loaded = _load(registry, tiny_model("mlm"))
    other = loaded.tokenizer("a red car", return_tensors="pt")
    stop = threading.Event()

    def other_panel() -> None:  # e.g. fill-mask predictions on the same LoadedModel, with SDPA
        with torch.inference_mode():
            while not stop.is_set():
                loaded.model(**other)

    thread = threading.Thread(target=other_panel)
    thread.start()
    try:
        for _ in range(5):
            result = extract_attention(loaded, "the cat sat on the mat")
            assert result.queries is not None and result.queries.shape[2] == 8
            nv = neuron_view(result, 1, 1, 2)
            np.testing.assert_allclose(nv.softmax, nv.attention, atol=1e-5)
    finally:
        stop.set()
        thread.join()
    assert loaded.model.config._attn_implementation == "sdpa"
