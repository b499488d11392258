"""Dataset map: every row of a table as one point, its sentence embedding projected to 2-D.

The embedding is the last layer's [CLS] vector or the mean of its token vectors (padding excluded).
For a classifier the same forward pass also gives the predicted label, so the map can be coloured by
label, by prediction or by correct/wrong. PCA is the default (fast, deterministic); UMAP keeps local
neighbourhoods better but takes longer. Results are cached per model and data, so switching the
colouring or coming back to a map never recomputes it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lmstudio_app.core.data.table_writer import write_table
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.family import SEQ2SEQ
from lmstudio_app.core.models.registry import HEAD_CLS
from lmstudio_app.core.tasks import TaskState, ensure_state

POOLINGS = ("cls", "mean")
PROJECTIONS = ("pca", "umap")
_CACHE_SIZE = 8
_cache: OrderedDict[tuple, tuple[np.ndarray, list[str] | None, np.ndarray | None]] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class MapOptions:
    pooling: str = "cls"
    method: str = "pca"
    max_length: int = 128
    batch_size: int = 32
    seed: int = 0


@dataclass(frozen=True)
class DatasetMap:
    """2-D points for a table's rows with what colours and tooltips need."""

    model: str
    method: str
    pooling: str
    xy: np.ndarray  # float32 (n, 2)
    texts: list[str]
    labels: list[str] | None = None
    predicted: list[str] | None = None
    confidence: np.ndarray | None = None  # probability of the predicted label

    def correct(self) -> np.ndarray | None:
        """True where the predicted label equals the given label; None without both."""
        if self.labels is None or self.predicted is None:
            return None
        return np.array([a == b for a, b in zip(self.labels, self.predicted, strict=True)], dtype=bool)


def read_rows(
    path: str | Path, text_column: str, label_column: str | None = None, *, state: TaskState | None = None
) -> tuple[list[str], list[str] | None]:
    """Texts (and labels) of a table file, rows with an empty text dropped."""
    from lmstudio_app.core.data.table import read_table

    return table_rows(read_table(path, state=state), text_column, label_column)


def table_rows(
    table: Any, text_column: str, label_column: str | None = None
) -> tuple[list[str], list[str] | None]:
    """Texts (and labels) of a read `Table`, rows with an empty text dropped."""
    name = Path(table.path).name
    for column in (text_column, label_column):
        if column is not None and column not in table.columns:
            raise UserError(f"{name} has no column {column!r}: its columns are {', '.join(table.columns)}.")
    frame = table.frame[table.frame[text_column].str.strip() != ""]
    if len(frame) < 3:
        raise UserError(
            f"{name} has {len(frame)} rows with a text in {text_column!r}: a map needs at least 3."
        )
    texts = [str(t) for t in frame[text_column]]
    labels = [str(v).strip() for v in frame[label_column]] if label_column else None
    return texts, labels


def _pool(hidden: Any, mask: Any, pooling: str) -> Any:
    if pooling == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)


def embed(
    loaded: Any, texts: list[str], options: MapOptions, *, state: TaskState | None = None
) -> tuple[np.ndarray, list[str] | None, np.ndarray | None]:
    """Sentence embeddings (n, hidden) plus predicted labels and confidences for a classifier."""
    import torch

    state = ensure_state(state)
    model, tokenizer = loaded.model, loaded.tokenizer
    if model is None:
        raise UserError(f"{loaded.name} has been unloaded: load it again in the Models tab.")
    classify = loaded.has_head(HEAD_CLS)
    if classify:
        runner = model
    elif getattr(loaded, "family", None) == SEQ2SEQ:
        runner = model.get_encoder()  # an encoder-decoder's sentence vectors come from its encoder
    else:
        runner = getattr(model, "base_model", model)
    id2label = getattr(model.config, "id2label", None) or {}
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch: less padding
    vectors: list[Any] = [None] * len(texts)
    predicted: list[str] = [""] * len(texts)
    confidence = np.zeros(len(texts), dtype=np.float32)
    for start in range(0, len(texts), options.batch_size):
        state.raise_if_stopped()
        idx = order[start : start + options.batch_size]
        enc = tokenizer(
            [texts[i] for i in idx],
            truncation=True,
            max_length=options.max_length,
            padding=True,
            return_tensors="pt",
        ).to(loaded.device)
        enc = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        with torch.inference_mode():
            out = runner(**enc, output_hidden_states=classify)
        hidden = out.hidden_states[-1] if classify else out.last_hidden_state
        pooled = _pool(hidden, enc["attention_mask"], options.pooling).float().cpu().numpy()
        if classify:
            probs = out.logits.float().softmax(-1).cpu().numpy()
        for j, i in enumerate(idx):
            vectors[i] = pooled[j]
            if classify:
                k = int(probs[j].argmax())
                predicted[i] = str(id2label.get(k, id2label.get(str(k), f"LABEL_{k}")))
                confidence[i] = probs[j, k]
        done = min(len(texts), start + options.batch_size)
        state.progress(0.9 * done / len(texts), f"Embedding rows: {done:,} of {len(texts):,}")
    return np.stack(vectors), (predicted if classify else None), (confidence if classify else None)


def project(vectors: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(n, d) -> (n, 2) float32 with PCA or UMAP."""
    if method not in PROJECTIONS:
        raise UserError(f"Unknown projection {method!r}: use one of {', '.join(PROJECTIONS)}.")
    if len(vectors) < 3:
        raise UserError(f"A map needs at least 3 rows, not {len(vectors)}.")
    if method == "pca":
        from sklearn.decomposition import PCA

        xy = PCA(n_components=2, random_state=seed).fit_transform(vectors)
    else:
        import umap

        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, len(vectors) - 1), random_state=seed)
        xy = reducer.fit_transform(vectors)
    return np.asarray(xy, dtype=np.float32)


def _key(loaded: Any, texts: list[str], options: MapOptions) -> tuple:
    digest = hashlib.sha1("\x1f".join(texts).encode("utf-8", "surrogatepass")).hexdigest()
    return (loaded.key, str(loaded.path), id(loaded.model), digest, options)


def dataset_map(
    loaded: Any,
    texts: list[str],
    labels: list[str] | None = None,
    options: MapOptions | None = None,
    *,
    state: TaskState | None = None,
) -> DatasetMap:
    """Embed and project `texts` with `loaded` (cached per model, texts and options)."""
    state = ensure_state(state)
    options = options or MapOptions()
    if options.pooling not in POOLINGS:
        raise UserError(f"Unknown pooling {options.pooling!r}: use one of {', '.join(POOLINGS)}.")
    if labels is not None and len(labels) != len(texts):
        raise UserError(f"{len(texts)} texts but {len(labels)} labels: give one label per row.")
    key = _key(loaded, texts, options)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
    if hit is None:
        vectors, predicted, confidence = embed(loaded, texts, options, state=state)
        state.raise_if_stopped()
        state.progress(0.92, f"Projecting with {options.method.upper()}")
        hit = (project(vectors, options.method, options.seed), predicted, confidence)
        with _cache_lock:
            _cache[key] = hit
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    state.progress(1.0, "Map ready")
    xy, predicted, confidence = hit
    return DatasetMap(loaded.name, options.method, options.pooling, xy, texts, labels, predicted, confidence)


def separation(xy: np.ndarray, labels: list[str]) -> float:
    """Silhouette score of the labels on the map (-1..1; higher = classes further apart)."""
    from sklearn.metrics import silhouette_score

    if len(set(labels)) < 2:
        raise UserError("Separation needs at least two different labels.")
    return float(silhouette_score(xy, labels))


def write_map_table(result: DatasetMap, path: str | Path) -> None:
    """x, y, label, text (plus predicted and confidence for a classifier), written atomically as the
    table format its suffix names (CSV, TSV, a workbook, JSON Lines or JSON)."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "x": result.xy[:, 0],
            "y": result.xy[:, 1],
            "label": result.labels if result.labels is not None else [""] * len(result.texts),
            "text": result.texts,
        }
    )
    if result.predicted is not None:
        frame["predicted"] = result.predicted
        frame["confidence"] = result.confidence
    write_table(frame, path)
