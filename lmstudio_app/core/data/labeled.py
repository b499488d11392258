"""Texts with labels taken from a table's columns: label variants merged, split, counted and measured.

Every problem is either handled and listed in plain words, or refused with a one-line DataError.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from lmstudio_app.core.data.table import DataError, Table, _s

MIN_TRAIN_PER_CLASS = 5


@dataclass
class DataSource:
    """How labelled data was read from disk (file, encoding, delimiter, columns): enough to read it again."""

    path: str
    encoding: str = ""
    delimiter: str = ""
    text_column: str = "text"
    label_column: str = "label"
    text_pair_column: str | None = None
    merge_variants: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DataSource:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class SplitOrigin:
    """Which side of which split a LabeledData is: enough to make the same split again."""

    part: str  # "train" | "val"
    val_fraction: float
    seed: int


@dataclass
class LabeledData:
    """Texts (and optional second texts) with normalised string labels, ready to split and train on."""

    texts: list[str]
    pairs: list[str] | None
    labels: list[str]
    label_names: list[str]
    dropped_empty: int = 0
    merged: dict[str, str] = field(default_factory=dict)
    variants: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    truncated: int = 0
    source: DataSource | None = None  # how to read it again (a run resumes from it)
    read_problems: list[str] = field(default_factory=list)  # what reading the table fixed (ragged rows...)
    split: SplitOrigin | None = None  # set by split()

    def __len__(self) -> int:
        return len(self.texts)


# ---------------------------------------------------------------- columns and labels


def _label_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def label_sort_key(label: str) -> tuple:
    """Numbers in numeric order ('2' before '10'), then text in case-insensitive order."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label.casefold(), label)


def _canonical(forms: Counter[str]) -> str:
    """The label kept for a group of variants: the most frequent trimmed form (lower case wins ties)."""
    trimmed: Counter[str] = Counter()
    for form, n in forms.items():
        trimmed[" ".join(form.split())] += n
    return max(trimmed, key=lambda f: (trimmed[f], f == f.lower(), f))


def prepare(
    table: Table,
    text_column: str,
    label_column: str,
    text_pair_column: str | None = None,
    *,
    merge_variants: bool = True,
) -> LabeledData:
    """Texts and labels from the chosen columns: drops (and counts) empty rows, merges case/space variants."""
    columns = table.columns
    for role, col in (("text", text_column), ("label", label_column), ("second text", text_pair_column)):
        if col is not None and col not in columns:
            raise DataError(
                f"The {role} column {col!r} is not in {table.path.name}; its columns are: {', '.join(columns)}."
            )
    if text_column == label_column:
        raise DataError(f"The text and label columns are both {text_column!r}: pick two different columns.")
    if text_pair_column in (text_column, label_column):
        raise DataError("The second text column must differ from the text and label columns.")
    if table.frame.empty:
        raise DataError(f"{table.path.name} has a header but no data rows: add rows, then try again.")
    texts_all = table.frame[text_column].astype(str).tolist()
    raw_labels = table.frame[label_column].astype(str).tolist()
    pairs_all = table.frame[text_pair_column].astype(str).tolist() if text_pair_column else None
    keep = [
        i
        for i in range(len(texts_all))
        if texts_all[i].strip() and raw_labels[i].strip() and (pairs_all is None or pairs_all[i].strip())
    ]
    dropped = len(texts_all) - len(keep)
    if not keep:
        raise DataError(
            f"Every row has an empty text or label in columns {text_column!r}/{label_column!r}: pick other columns."
        )
    written = [raw_labels[i] for i in keep]
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for label in written:
        groups[_label_key(label)][label] += 1
    canonical = {key: _canonical(forms) for key, forms in groups.items()}
    variants = {canonical[key]: sorted(forms) for key, forms in groups.items() if len(forms) > 1}
    if merge_variants:
        labels = [canonical[_label_key(lab)] for lab in written]
        merged = {w: c for w, c in zip(written, labels, strict=True) if w != c}
    else:
        labels, merged = written, {}
    data = LabeledData(
        texts=[texts_all[i] for i in keep],
        pairs=[pairs_all[i] for i in keep] if pairs_all is not None else None,
        labels=labels,
        label_names=sorted(set(labels), key=label_sort_key),
        dropped_empty=dropped,
        merged=merged,
        variants=variants,
        read_problems=list(table.problems),
        source=DataSource(
            path=str(table.path),
            encoding=table.encoding,
            delimiter=table.delimiter,
            text_column=text_column,
            label_column=label_column,
            text_pair_column=text_pair_column,
            merge_variants=merge_variants,
        ),
    )
    data.warnings = data_warnings(data)
    return data


def data_warnings(data: LabeledData) -> list[str]:
    """Plain-words warnings about the whole data set (before splitting)."""
    warnings: list[str] = []
    counts = class_counts(data)
    if len(counts) < 2:
        only = next(iter(counts), "")
        warnings.append(f"only one class ({only!r}): a classifier needs at least two different labels")
    for name, n in counts.items():
        if n == 1:
            warnings.append(f"class {name!r} has 1 example: it cannot be both trained on and validated")
    if data.dropped_empty:
        warnings.append(
            f"{data.dropped_empty} row{_s(data.dropped_empty)} with an empty text or label dropped"
        )
    if data.merged:
        pairs = sorted({(w.strip(), c) for w, c in data.merged.items() if w.strip() != c})
        if pairs:
            shown = ", ".join(f"{w!r} -> {c!r}" for w, c in pairs[:5])
            warnings.append(f"labels that differ only in case or spaces merged: {shown}")
    if len(counts) > 50 and len(counts) > len(data) / 2:
        warnings.append(f"{len(counts)} classes for {len(data)} rows: is the label column the right one?")
    return warnings


def class_counts(data: LabeledData) -> dict[str, int]:
    """Examples per class, in the data's class order."""
    counts = Counter(data.labels)
    return {name: counts[name] for name in sorted(counts, key=label_sort_key)}


def subset(data: LabeledData, indices: list[int], split: SplitOrigin | None = None) -> LabeledData:
    """The rows at `indices` (same class list, merges and variants, same source)."""
    labels = [data.labels[i] for i in indices]
    return replace(
        data,
        texts=[data.texts[i] for i in indices],
        pairs=[data.pairs[i] for i in indices] if data.pairs is not None else None,
        labels=labels,
        label_names=sorted(set(labels), key=label_sort_key),
        warnings=[],
        truncated=0,
        split=split,
    )


def split(data: LabeledData, val_fraction: float = 0.2, seed: int = 42) -> tuple[LabeledData, LabeledData]:
    """Stratified, seeded split: each class with >= 2 examples gets at least one row on each side."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"The validation fraction must be between 0 and 1 (exclusive), not {val_fraction}.")
    if len(data) < 2:
        raise DataError("At least two rows are needed to have training and validation data.")
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(data.labels):
        by_class[label].append(i)
    rng = random.Random(seed)
    train_idx: list[int] = []
    val_idx: list[int] = []
    for name in sorted(by_class, key=label_sort_key):
        idx = by_class[name][:]
        rng.shuffle(idx)
        n_val = 0 if len(idx) < 2 else min(len(idx) - 1, max(1, round(len(idx) * val_fraction)))
        val_idx.extend(idx[:n_val])
        train_idx.extend(idx[n_val:])
    train_idx.sort()
    val_idx.sort()
    return (
        subset(data, train_idx, SplitOrigin("train", val_fraction, seed)),
        subset(data, val_idx, SplitOrigin("val", val_fraction, seed)),
    )


def split_warnings(train: LabeledData, val: LabeledData) -> list[str]:
    """Classes with too few training examples, missing from validation, or only in validation."""
    warnings: list[str] = []
    tc, vc = class_counts(train), class_counts(val)
    if len(val) == 0:
        warnings.append("the validation data is empty: no scores can be measured")
    for name in sorted(set(tc) | set(vc), key=label_sort_key):
        if name not in tc:
            warnings.append(f"class {name!r} is only in the validation data: the model can never predict it")
            continue
        if tc[name] < MIN_TRAIN_PER_CLASS:
            warnings.append(f"class {name!r} has only {tc[name]} training example{_s(tc[name])}")
        if name not in vc and len(val):
            warnings.append(f"class {name!r} has no validation examples: its scores cannot be measured")
    return warnings


def token_lengths(tokenizer: Any, data: LabeledData, limit: int = 5000) -> list[int]:
    """Token counts (with special tokens, untruncated) of up to `limit` rows spread over the data."""
    n = len(data)
    if n == 0:
        return []
    step = max(1, math.ceil(n / limit))
    idx = list(range(0, n, step))[:limit]
    texts = [data.texts[i] for i in idx]
    pairs = [data.pairs[i] for i in idx] if data.pairs is not None else None
    enc = tokenizer(texts, pairs, truncation=False, verbose=False)
    return [len(ids) for ids in enc["input_ids"]]


def suggest_max_length(lengths: list[int], cap: int = 512, cover_all_below: int = 128) -> int:
    """A max length rounded up to a multiple of 16, within [16, cap]: the longest text when every text is
    short (below `cover_all_below` tokens, where covering them all costs little), else the 95th percentile.
    """
    if not lengths:
        return min(128, cap)
    ordered = sorted(lengths)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    if ordered[-1] <= cover_all_below:
        p95 = ordered[-1]
    return int(max(16, min(cap, math.ceil(p95 / 16) * 16)))
