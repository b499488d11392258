"""The candidates' frozen sentence vectors on a stratified sample of the user's rows."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from lmstudio_app.core.data.labeled import LabeledData, subset
from lmstudio_app.core.tasks import TaskState, ensure_state


def stratified_sample(data: LabeledData, size: int, seed: int) -> LabeledData:
    """About `size` rows, each class in its share of the whole (and at least 2 rows of any class that has
    them, so the probe can hold one out); all rows when there are no more than `size`."""
    if len(data) <= size:
        return data
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(data.labels):
        by_class[label].append(i)
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for name in sorted(by_class):
        rows = by_class[name]
        quota = min(len(rows), max(2, round(size * len(rows) / len(data))))
        chosen.extend(int(i) for i in rng.choice(rows, size=quota, replace=False))
    return subset(data, sorted(chosen))


def sentence_vectors(
    loaded: Any, data: LabeledData, *, max_length: int = 128, state: TaskState | None = None
) -> np.ndarray:
    """(rows, hidden) float64: the mean of the last layer's token vectors, padding left out, of the frozen
    encoder under the loaded model's heads (mean pooling suits every encoder; [CLS] is only trained for
    it by next-sentence prediction)."""
    import torch

    state = ensure_state(state)
    runner = loaded.model.base_model
    texts, pairs = data.texts, data.pairs
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch: less padding
    vectors = np.zeros((len(texts), runner.config.hidden_size))
    batch = 32
    for start in range(0, len(texts), batch):
        state.raise_if_stopped()
        idx = order[start : start + batch]
        enc = loaded.tokenizer(
            [texts[i] for i in idx],
            [pairs[i] for i in idx] if pairs is not None else None,
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        ).to(loaded.device)
        enc = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        with torch.inference_mode():
            hidden = runner(**enc).last_hidden_state.float()
        weights = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
        vectors[idx] = pooled.cpu().numpy()
        done = min(len(texts), start + batch)
        state.progress(done / len(texts), f"embedding {done:,} of {len(texts):,} rows")
    return vectors
