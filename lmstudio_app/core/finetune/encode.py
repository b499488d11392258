"""Texts to token ids for training: compact arrays, padded per batch by the collator."""

from __future__ import annotations

from typing import Any

from lmstudio_app.core.data.labeled import LabeledData
from lmstudio_app.core.tasks import TaskState, ensure_state

_ENCODE_CHUNK = 1000  # small chunks: the GIL is held while results become Python lists


class EncodedDataset:
    """Token ids per row (int32 arrays, so 100k rows stay small) and label ids (multi-label data: a 0/1 float
    per label, what the BCE loss takes); items are dicts for the collator."""

    def __init__(self, ids: list[Any], types: list[Any] | None, labels: list[Any]) -> None:
        self.ids, self.types, self.labels = ids, types, labels

    def __len__(self) -> int:
        return len(self.ids)

    def length_order(self) -> list[int]:
        """Row indices longest first: evaluation batches then need little padding, and the order is known."""
        return sorted(range(len(self.ids)), key=lambda i: -len(self.ids[i]))

    def __getitem__(self, i: int) -> dict:
        item = {"input_ids": self.ids[i].tolist(), "labels": self.labels[i]}
        if self.types is not None:
            item["token_type_ids"] = self.types[i].tolist()
        return item


def encode(
    tokenizer: Any,
    data: LabeledData,
    label_ids: dict[str, int],
    max_length: int,
    state: TaskState | None = None,
    what: str = "texts",
) -> tuple[EncodedDataset, int]:
    """Tokenize `data` (no padding: the collator pads each batch); returns the dataset and how many rows were cut."""
    import numpy as np

    state = ensure_state(state)
    n = len(data)
    ids: list[Any] = []
    types: list[Any] | None = [] if data.pairs is not None else None
    truncated = 0
    for start in range(0, n, _ENCODE_CHUNK):
        state.raise_if_stopped()
        state.progress(start / max(1, n), f"Tokenizing {what}: {start:,} of {n:,}")
        texts = data.texts[start : start + _ENCODE_CHUNK]
        pairs = data.pairs[start : start + _ENCODE_CHUNK] if data.pairs is not None else None
        kw = {"truncation": True, "return_attention_mask": False, "return_token_type_ids": pairs is not None}
        # One extra token tells which rows were longer than max_length; only those are encoded again.
        enc = tokenizer(texts, pairs, max_length=max_length + 1, **kw)
        long = [i for i, row in enumerate(enc["input_ids"]) if len(row) > max_length]
        if long:
            truncated += len(long)
            again = tokenizer(
                [texts[i] for i in long],
                [pairs[i] for i in long] if pairs is not None else None,
                max_length=max_length,
                **kw,
            )
            for j, i in enumerate(long):
                enc["input_ids"][i] = again["input_ids"][j]
                if pairs is not None:
                    enc["token_type_ids"][i] = again["token_type_ids"][j]
        ids.extend(np.asarray(row, dtype=np.int32) for row in enc["input_ids"])
        if types is not None:
            types.extend(np.asarray(row, dtype=np.int8) for row in enc["token_type_ids"])
    if data.label_sets is None:
        labels: list[Any] = [label_ids[lab] for lab in data.labels]
    else:
        labels = [multi_hot(row, label_ids) for row in data.label_sets]
    return EncodedDataset(ids, types, labels), truncated


def multi_hot(names: list[str], label_ids: dict[str, int]) -> list[float]:
    """1.0 at each of `names`' ids, 0.0 elsewhere."""
    row = [0.0] * len(label_ids)
    for name in names:
        row[label_ids[name]] = 1.0
    return row


def measure_lengths(spec: str, data: LabeledData, state: TaskState | None = None) -> tuple[list[int], int]:
    """Token lengths of (a sample of) the data with the base model's tokenizer, and the suggested max length."""
    from lmstudio_app.core.data.labeled import suggest_max_length, token_lengths
    from lmstudio_app.core.errors import ModelSourceError
    from lmstudio_app.core.models.imports import import_quietly
    from lmstudio_app.core.models.local import resolve_local
    from lmstudio_app.core.models.quiet import quiet_transformers

    import_quietly("transformers")  # often the session's first import of it
    import transformers

    source = resolve_local(spec)
    ensure_state(state).raise_if_stopped()
    with quiet_transformers():
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(source.path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelSourceError(
                f"Could not read the tokenizer of {spec}: {str(exc).splitlines()[0]}"
            ) from exc
    lengths = token_lengths(tokenizer, data)
    return lengths, suggest_max_length(lengths, cap=min(512, tokenizer.model_max_length or 512))


def length_ordered_trainer() -> type:
    """A Trainer whose evaluation visits rows longest first (little padding; predictions map back to rows)."""
    from transformers import Trainer

    class LengthOrderedTrainer(Trainer):
        def _get_eval_sampler(self, eval_dataset: Any) -> Any:
            if self.args.world_size <= 1 and isinstance(eval_dataset, EncodedDataset):
                return eval_dataset.length_order()
            return super()._get_eval_sampler(eval_dataset)

    return LengthOrderedTrainer
