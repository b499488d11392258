"""Positions: the model's own table and the sine/cosine encoding as cosine maps and principal components."""

from __future__ import annotations

import numpy as np
import pytest
from inside_archs import build_arch

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.positions import describe, positions, reorder, sinusoidal, word_order
from lmstudio_app.core.models.registry import ModelRegistry


@pytest.fixture(scope="module")
def mlm(tiny_model):
    return ModelRegistry().load(str(tiny_model("mlm")))


def test_sinusoidal_follows_the_formula():
    pe = sinusoidal(50, 16)
    assert pe.shape == (50, 16)
    assert pe[0, 0::2].tolist() == [0.0] * 8 and pe[0, 1::2].tolist() == [1.0] * 8
    assert pe[3, 2] == pytest.approx(np.sin(3 / 10000 ** (2 / 16)))
    assert pe[7, 5] == pytest.approx(np.cos(7 / 10000 ** (4 / 16)))


def test_cosine_map_and_components():
    vectors = np.random.default_rng(0).normal(size=(20, 8))
    m = describe("x", vectors)
    np.testing.assert_allclose(np.diag(m.cosine), 1.0, atol=1e-6)
    np.testing.assert_allclose(m.cosine, m.cosine.T, atol=1e-6)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert m.cosine[3, 11] == pytest.approx(unit[3] @ unit[11], abs=1e-6)
    centred = vectors - vectors.mean(0)
    total = (centred**2).sum()
    assert (m.components[:, 0] ** 2).sum() / total == pytest.approx(m.explained[0], rel=1e-5)
    assert m.explained[0] >= m.explained[1] > 0 and sum(m.explained) <= 1


def test_learned_table_is_the_models_and_fixed_has_the_same_size(mlm, tiny_model):
    result = positions(mlm, 40)
    table = mlm.model.bert.embeddings.position_embeddings.weight.detach().numpy()
    np.testing.assert_allclose(result.model_map.vectors, table[:40])
    assert result.model_map.cosine.shape == result.fixed_map.cosine.shape == (40, 40)
    assert "learned" in result.model_map.title and "sine/cosine" in result.fixed_map.title
    # the sine/cosine encoding: neighbours are more alike than far-apart positions
    assert result.fixed_map.cosine[10, 11] > result.fixed_map.cosine[10, 30]
    roberta = build_arch("roberta", tiny_model("encoder"))
    got = positions(roberta, 10).model_map.vectors
    table = roberta.model.roberta.embeddings.position_embeddings.weight.detach().numpy()
    np.testing.assert_allclose(got, table[2:12])  # RoBERTa's first position is padding_idx + 1 = 2
    with pytest.raises(UserError, match="between 2 and 62"):
        positions(roberta, 63)


def test_word_order_changes_predictions(mlm):
    text = "the dog ran to the [MASK] and the cat sat"
    shuffled = reorder(text, seed=3)
    assert shuffled != text and sorted(shuffled.split()) == sorted(text.split())
    assert reorder(text, seed=3) == shuffled
    result = word_order(mlm, text, seed=3)
    assert result.reordered == shuffled
    assert result.before.kind == "masks" and result.before.slots != result.after.slots
    given = word_order(mlm, text, "[MASK] the dog ran to the and the cat sat")
    assert given.reordered.startswith("[MASK] the dog")
    with pytest.raises(UserError, match="exactly the same words"):
        word_order(mlm, text, "the dog ran to the [MASK]")
    with pytest.raises(UserError, match="two different words"):
        reorder("[MASK] [MASK]")
