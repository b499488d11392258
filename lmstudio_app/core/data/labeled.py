"""Texts with labels taken from a table's columns: label variants merged, split, counted and measured.

Every problem is either handled and listed in plain words, or refused with a one-line DataError.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from lmstudio_app.core.data.multilabel import JSON_LISTS, describe_separator, detect_separator, read_cells
from lmstudio_app.core.data.table import DataError, Table, _s

MIN_TRAIN_PER_CLASS = 5
_RARE = "(combinations of labels seen once)"  # their group in a multi-label split


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
    multi_label: bool = False  # several labels per cell
    label_separator: str | None = None  # how a multi-label cell joins them (JSON_LISTS); None: guess

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
    """Texts (and optional second texts) with normalised string labels, ready to split and train on.

    Multi-label data has each row's labels in `label_sets`; `labels` then holds each row's combination of
    labels (what a split keeps in proportion) and `label_names` the single labels."""

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
    label_sets: list[list[str]] | None = None  # multi-label data: each row's labels, in label order

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
    multi_label: bool = False,
    separator: str | None = None,
) -> LabeledData:
    """Texts and labels from the chosen columns: drops (and counts) empty rows, merges case/space variants.

    `multi_label`: each label cell holds several labels joined by `separator` (JSON_LISTS: JSON lists; None:
    guessed from the column); a row with an empty cell is kept, as a row to which no label applies."""
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
        if texts_all[i].strip()
        and (multi_label or raw_labels[i].strip())
        and (pairs_all is None or pairs_all[i].strip())
    ]
    dropped = len(texts_all) - len(keep)
    if not keep:
        what = "text" if multi_label else "text or label"
        raise DataError(
            f"Every row has an empty {what} in columns {text_column!r}/{label_column!r}: pick other columns."
        )
    written = [raw_labels[i] for i in keep]
    label_sets, notes = None, []
    if multi_label:
        separator = (detect_separator(written) if separator is None else separator) or JSON_LISTS
        label_sets, merged, variants, notes = _multi_labels(written, separator, merge_variants)
        labels = [json.dumps(row, ensure_ascii=False) for row in label_sets]  # the combination, to split by
        names = {name for row in label_sets for name in row}
    else:
        labels, merged, variants = _merged_variants(written, merge_variants)
        names = set(labels)
    data = LabeledData(
        texts=[texts_all[i] for i in keep],
        pairs=[pairs_all[i] for i in keep] if pairs_all is not None else None,
        labels=labels,
        label_names=sorted(names, key=label_sort_key),
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
            multi_label=multi_label,
            label_separator=separator if multi_label else None,
        ),
        label_sets=label_sets,
    )
    data.warnings = data_warnings(data) + notes
    return data


def _merged_variants(
    written: list[str], merge: bool
) -> tuple[list[str], dict[str, str], dict[str, list[str]]]:
    """Each written label as kept (forms that differ only in case or spaces merged, unless `merge` is off),
    the merges made, and every group of such variants."""
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for label in written:
        groups[_label_key(label)][label] += 1
    canonical = {key: _canonical(forms) for key, forms in groups.items()}
    variants = {canonical[key]: sorted(forms) for key, forms in groups.items() if len(forms) > 1}
    if not merge:
        return written, {}, variants
    labels = [canonical[_label_key(lab)] for lab in written]
    return labels, {w: c for w, c in zip(written, labels, strict=True) if w != c}, variants


def _multi_labels(
    cells: list[str], separator: str, merge: bool
) -> tuple[list[list[str]], dict[str, str], dict[str, list[str]], list[str]]:
    """(each row's labels in label order, merges, variants, what tidying the cells did in words)."""
    rows, notes = read_cells(cells, separator)
    kept, merged, variants = _merged_variants([name for row in rows for name in row], merge)
    names = iter(kept)
    label_sets = []
    for row in rows:
        labels = {next(names) for _ in row}
        notes.duplicates += len(row) - len(labels)  # "Cat;cat" is one label once the variants are merged
        label_sets.append(sorted(labels, key=label_sort_key))
    return label_sets, merged, variants, notes.warnings()


def data_warnings(data: LabeledData) -> list[str]:
    """Plain-words warnings about the whole data set (before splitting)."""
    warnings: list[str] = []
    counts = class_counts(data)
    noun = _noun(data)
    if len(counts) < 2:
        only = next(iter(counts), "")
        warnings.append(f"only one {noun} ({only!r}): a classifier needs at least two different labels")
    for name, n in counts.items():
        if n == 1:
            warnings.append(f"{noun} {name!r} has 1 example: it cannot be both trained on and validated")
    if data.dropped_empty:
        what = "text" if data.label_sets is not None else "text or label"
        warnings.append(f"{data.dropped_empty} row{_s(data.dropped_empty)} with an empty {what} dropped")
    if data.label_sets is not None and len(counts) > 1 and all(len(row) <= 1 for row in data.label_sets):
        separator = describe_separator(data.source.label_separator if data.source else JSON_LISTS)
        warnings.append(
            f"no row has more than one label (separator {separator}): is that the right separator?"
        )
    if data.merged:
        pairs = sorted({(w.strip(), c) for w, c in data.merged.items() if w.strip() != c})
        if pairs:
            shown = ", ".join(f"{w!r} -> {c!r}" for w, c in pairs[:5])
            warnings.append(f"labels that differ only in case or spaces merged: {shown}")
    if len(counts) > 50 and len(counts) > len(data) / 2:
        warnings.append(f"{len(counts)} classes for {len(data)} rows: is the label column the right one?")
    return warnings


def _noun(data: LabeledData) -> str:
    return "label" if data.label_sets is not None else "class"


def class_counts(data: LabeledData) -> dict[str, int]:
    """Examples per class (multi-label data: rows per label), in the data's class order."""
    if data.label_sets is not None:
        counts = Counter(name for row in data.label_sets for name in row)
    else:
        counts = Counter(data.labels)
    return {name: counts[name] for name in sorted(counts, key=label_sort_key)}


def subset(data: LabeledData, indices: list[int], split: SplitOrigin | None = None) -> LabeledData:
    """The rows at `indices` (same class list, merges and variants, same source)."""
    labels = [data.labels[i] for i in indices]
    label_sets = [data.label_sets[i] for i in indices] if data.label_sets is not None else None
    names = {name for row in label_sets for name in row} if label_sets is not None else set(labels)
    return replace(
        data,
        texts=[data.texts[i] for i in indices],
        pairs=[data.pairs[i] for i in indices] if data.pairs is not None else None,
        labels=labels,
        label_sets=label_sets,
        label_names=sorted(names, key=label_sort_key),
        warnings=[],
        truncated=0,
        split=split,
    )


def split(data: LabeledData, val_fraction: float = 0.2, seed: int = 42) -> tuple[LabeledData, LabeledData]:
    """Stratified, seeded split: each class with >= 2 examples gets at least one row on each side.

    Multi-label rows are stratified by their combination of labels; combinations seen once are split
    together as one group (else every such row would stay in training)."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"The validation fraction must be between 0 and 1 (exclusive), not {val_fraction}.")
    if len(data) < 2:
        raise DataError("At least two rows are needed to have training and validation data.")
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(data.labels):
        by_class[label].append(i)
    if data.label_sets is not None:
        once = [idx[0] for idx in by_class.values() if len(idx) == 1]
        by_class = {key: idx for key, idx in by_class.items() if len(idx) > 1}
        if once:
            by_class[_RARE] = sorted(once)
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
    noun = _noun(train)
    if len(val) == 0:
        warnings.append("the validation data is empty: no scores can be measured")
    for name in sorted(set(tc) | set(vc), key=label_sort_key):
        if name not in tc:
            never = (
                "the model never learns it and does not predict it (its recall counts as 0)"
                if train.label_sets is not None
                else "the model can never predict it"
            )
            warnings.append(f"{noun} {name!r} is only in the validation data: {never}")
            continue
        if tc[name] < MIN_TRAIN_PER_CLASS:
            warnings.append(f"{noun} {name!r} has only {tc[name]} training example{_s(tc[name])}")
        if name not in vc and len(val):
            warnings.append(f"{noun} {name!r} has no validation examples: its scores cannot be measured")
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
