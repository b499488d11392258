"""Layer lens: every layer read by the masked-LM head; the last layer is the Masked words panel's answer."""

from __future__ import annotations

import numpy as np
import pytest
from inside_archs import build_arch

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.fillmask.predict import fill_mask
from lmstudio_app.core.inside.lens import layer_lens
from lmstudio_app.core.models.registry import ModelRegistry
from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM, find_embedded


def _same_as_fill_mask(loaded, text: str, k: int = 5) -> None:
    lens = layer_lens(loaded, text, top_k=k)
    answer = fill_mask(loaded.model, loaded.tokenizer, text, top_k=k).masks[0].candidates
    assert lens.words == [c.token for c in answer]
    np.testing.assert_allclose(lens.probs[-1], [c.score for c in answer], rtol=1e-4, atol=1e-7)
    assert lens.ranks[-1].tolist() == list(range(1, k + 1))
    assert lens.best[-1][0] == lens.words[0]


@pytest.mark.skipif(find_embedded(DEFAULT_MASKED_LM) is None, reason="embedded masked-LM not installed")
def test_last_layer_is_the_embedded_models_fill_mask_answer():
    loaded = ModelRegistry().load(DEFAULT_MASKED_LM)
    text = "She drank a cup of hot [MASK] before work."
    _same_as_fill_mask(loaded, text)
    lens = layer_lens(loaded, text)
    assert lens.layer_names == ["embeddings", *(f"layer {i}" for i in range(6))]
    assert lens.probs.shape == lens.ranks.shape == (7, 5)
    assert lens.tokens[lens.position] == "[MASK]"


@pytest.mark.parametrize("kind", ["mlm", "pretraining", "distilbert", "electra"])
def test_last_layer_is_fill_masks_answer_on_tiny_models(tiny_model, kind):
    if kind in ("mlm", "pretraining"):
        loaded = ModelRegistry().load(str(tiny_model(kind)))
    else:
        loaded = build_arch(kind, tiny_model("encoder"))
    _same_as_fill_mask(loaded, "the cat sat on the [MASK] .")


def test_second_mask_and_bad_input(tiny_model):
    registry = ModelRegistry()
    loaded = registry.load(str(tiny_model("mlm")))
    lens = layer_lens(loaded, "the [MASK] sat on the [MASK]", mask=1, top_k=3)
    assert lens.position == 6 and len(lens.words) == 3
    assert lens.to_json()["layers"][-1]["words"][0]["rank"] == 1
    with pytest.raises(UserError, match="No mask in the text"):
        layer_lens(loaded, "the cat sat")
    with pytest.raises(UserError, match="There is no mask 2"):
        layer_lens(loaded, "the [MASK] sat on the [MASK]", mask=2)
    encoder = registry.load(str(tiny_model("encoder")))
    with pytest.raises(UserError, match="has no masked-LM head, which the layer lens needs"):
        layer_lens(encoder, "the [MASK] sat")
