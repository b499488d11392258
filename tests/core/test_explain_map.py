"""Dataset map on tiny real models: shapes, pooling, cache, predictions, CSV output, UMAP, errors."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.explain import embed_map as em
from lmstudio_app.core.models.registry import ModelRegistry
from lmstudio_app.core.tasks import Cancelled, TaskState

TEXTS = [
    "the cat sat on the mat",
    "a dog ran in the road",
    "the sun and the moon",
    "she drank tea with milk",
    "he ate food at the table",
    "they walked to the river",
]


@pytest.fixture(scope="module")
def registry(tiny_model) -> ModelRegistry:
    reg = ModelRegistry()
    reg.load(str(tiny_model("encoder")))
    reg.load(str(tiny_model("classifier")))
    return reg


def _pick(registry, arch: str):
    return next(m for m in registry.models() if m.architecture.endswith(arch))


def test_cls_and_mean_embeddings_of_an_encoder(registry):
    loaded = _pick(registry, "BertModel")
    cls, predicted, confidence = em.embed(loaded, TEXTS, em.MapOptions(pooling="cls", batch_size=4))
    mean, _, _ = em.embed(loaded, TEXTS, em.MapOptions(pooling="mean", batch_size=4))
    assert cls.shape == mean.shape == (len(TEXTS), 32)
    assert predicted is None and confidence is None
    enc = loaded.tokenizer(TEXTS[0], return_tensors="pt")
    hidden = loaded.model(**enc).last_hidden_state[0].detach().numpy()
    np.testing.assert_allclose(cls[0], hidden[0], atol=1e-5)  # batched with padding, same vector
    np.testing.assert_allclose(mean[0], hidden.mean(0), atol=1e-5)


def test_classifier_map_has_predictions_and_is_cached(registry):
    loaded = _pick(registry, "ForSequenceClassification")
    labels = ["label_0", "label_1"] * 3
    first = em.dataset_map(loaded, TEXTS, labels)
    assert first.xy.shape == (6, 2) and first.xy.dtype == np.float32
    assert set(first.predicted) <= {"label_0", "label_1"} and (first.confidence >= 0.5).all()
    assert first.correct().tolist() == [a == b for a, b in zip(labels, first.predicted, strict=True)]
    messages: list[str] = []
    start = time.perf_counter()
    second = em.dataset_map(loaded, TEXTS, labels, state=TaskState(lambda _f, m: messages.append(m)))
    assert time.perf_counter() - start < 0.05 and not any("Embedding" in m for m in messages)
    np.testing.assert_array_equal(first.xy, second.xy)
    other = em.dataset_map(loaded, TEXTS, labels, em.MapOptions(pooling="mean"))
    assert not np.allclose(other.xy, first.xy)


def test_cancel_stops_between_batches(registry):
    loaded = _pick(registry, "BertModel")
    state = TaskState()
    state.request_stop()
    with pytest.raises(Cancelled):
        em.dataset_map(loaded, [*TEXTS, "one more row"], options=em.MapOptions(batch_size=2), state=state)


@pytest.mark.slow  # numba compiles UMAP on first use: ~1 min on 2 busy cores
def test_umap_projection(registry):
    loaded = _pick(registry, "BertModel")
    texts = [
        f"{a} {b}"
        for a in ("the cat", "a dog", "the man", "a girl")
        for b in ("sat", "ran", "ate", "drank", "played")
    ]
    result = em.dataset_map(loaded, texts, options=em.MapOptions(method="umap"))
    assert result.xy.shape == (20, 2) and np.isfinite(result.xy).all()


def test_table_rows_and_csv(registry, tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("review,sentiment\n" + "\n".join(f"{t},{i % 2}" for i, t in enumerate(TEXTS)) + "\n,1\n")
    texts, labels = em.read_rows(table, "review", "sentiment")
    assert texts == TEXTS and labels == ["0", "1"] * 3  # the empty text is dropped
    with pytest.raises(UserError, match="no column 'text'.*review, sentiment"):
        em.read_rows(table, "text")
    result = em.dataset_map(_pick(registry, "BertModel"), texts, labels)
    out = tmp_path / "map.csv"
    em.write_map_table(result, out)
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["x", "y", "label", "text"] and frame["text"].tolist() == TEXTS
    np.testing.assert_allclose(frame[["x", "y"]].to_numpy(), result.xy, atol=1e-5)


def test_errors(registry):
    loaded = _pick(registry, "BertModel")
    with pytest.raises(UserError, match="at least 3"):
        em.dataset_map(loaded, TEXTS[:2])
    with pytest.raises(UserError, match="one label per row"):
        em.dataset_map(loaded, TEXTS, ["a"])
    with pytest.raises(UserError, match="Unknown projection"):
        em.project(np.zeros((5, 3)), "tsne")
    with pytest.raises(UserError, match="two different labels"):
        em.separation(np.zeros((3, 2)), ["a", "a", "a"])


@pytest.mark.parametrize("kind", ["t5", "gpt2"])
def test_decoders_map_from_their_encoder_or_their_own_states(tiny_decoder, kind):
    """An encoder-decoder's sentence vectors come from its encoder (its base model wants decoder inputs
    and raised); a causal LM's from its last hidden states."""
    reg = ModelRegistry()
    loaded = reg.load(str(tiny_decoder(kind)))
    texts = ["the cat sat", "a dog ran far"]
    vectors, predicted, _ = em.embed(loaded, texts, em.MapOptions(pooling="mean", batch_size=2))
    enc = loaded.tokenizer(texts[1], return_tensors="pt")
    runner = loaded.model.get_encoder() if kind == "t5" else loaded.model.base_model
    hidden = runner(input_ids=enc["input_ids"]).last_hidden_state[0].detach().numpy()
    assert vectors.shape == (2, 32) and predicted is None
    np.testing.assert_allclose(vectors[1], hidden.mean(0), atol=1e-5)
