"""Multi-head: per-head contributions agree with the hand-rebuilt layer; ablation equals zeroed W^O columns."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.anatomy import encode, layers
from lmstudio_app.core.inside.heads import ablate, head_contributions
from lmstudio_app.core.inside.outputs import predict
from lmstudio_app.core.inside.steps import Choice, attention_steps
from lmstudio_app.core.models.registry import ModelRegistry

MASKED = "the cat sat on the [MASK]"


@pytest.fixture(scope="module")
def registry(tiny_model):
    registry = ModelRegistry()
    for kind in ("mlm", "classifier", "encoder"):
        registry.load(str(tiny_model(kind)))
    return registry


def _model(registry, kind):
    return next(m for m in registry.models() if f"tiny_{kind}" in str(m.path))


def test_contribution_is_the_norm_of_head_times_its_rows_of_w_o(registry):
    loaded = _model(registry, "mlm")
    result = head_contributions(loaded, "the cat sat on the mat")
    assert result.norms.shape == (2, 2, 8) and (result.norms > 0).all()
    np.testing.assert_allclose(result.at(None), result.norms.mean(-1))
    for layer in range(2):
        steps = attention_steps(loaded, "the cat sat on the mat", Choice(layer, 0, 5))
        w_o = layers(loaded.model)[layer].output.weight.detach().numpy()
        for head in range(2):
            rows = slice(head * steps.head_dim, (head + 1) * steps.head_dim)
            expected = np.linalg.norm(w_o[:, rows] @ steps.heads[head])
            assert result.norms[layer, head, 5] == pytest.approx(expected, rel=1e-4)


def test_ablation_equals_zeroing_those_columns_of_w_o(registry):
    loaded = _model(registry, "mlm")
    off = {(0, 1), (1, 0)}
    result = ablate(loaded, MASKED, off, top_k=5)
    assert result.off == ((0, 1), (1, 0))
    assert result.full.kind == "masks" and len(result.full.slots[0]) == 5
    assert result.full.slots != result.ablated.slots
    # The same thing done by hand on a copy: zero head h's input columns of W^O in layer l.
    clone = copy.deepcopy(loaded)
    for layer, head in off:
        part = layers(clone.model)[layer]
        part.output.weight.data[:, head * part.head_dim : (head + 1) * part.head_dim] = 0
    by_hand = predict(clone, encode(clone, MASKED), 5)
    assert [w for w, _ in by_hand.slots[0]] == [w for w, _ in result.ablated.slots[0]]
    np.testing.assert_allclose(
        [p for _, p in by_hand.slots[0]], [p for _, p in result.ablated.slots[0]], rtol=1e-5
    )
    # the hooks are gone afterwards: the model predicts as before
    again = predict(loaded, encode(loaded, MASKED), 5)
    assert again.slots == result.full.slots


def test_no_heads_off_changes_nothing_and_classifiers_work(registry):
    same = ablate(_model(registry, "mlm"), MASKED, set())
    assert same.full.slots == same.ablated.slots
    loaded = _model(registry, "classifier")
    result = ablate(loaded, "a very good movie", {(0, 0), (0, 1), (1, 0), (1, 1)})
    assert result.full.kind == "labels" and [w for w, _ in result.full.slots[0]] == ["label_0", "label_1"]
    assert sum(p for _, p in result.ablated.slots[0]) == pytest.approx(1.0)
    assert result.full.slots[0][0][1] != pytest.approx(result.ablated.slots[0][0][1], abs=1e-7)


def test_bad_ablation_inputs(registry):
    with pytest.raises(UserError, match="no head 7 in layer 0"):
        ablate(_model(registry, "mlm"), MASKED, {(0, 7)})
    with pytest.raises(UserError, match="No mask in the text"):
        ablate(_model(registry, "mlm"), "the cat sat", {(0, 0)})
    with pytest.raises(UserError, match="neither a masked-LM head nor a classifier head"):
        ablate(_model(registry, "encoder"), MASKED, {(0, 0)})
