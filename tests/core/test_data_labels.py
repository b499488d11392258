"""Columns, labels and splits: empty rows counted, label variants merged (or offered), stratified splits."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmstudio_app.core.data.labeled import (
    class_counts,
    prepare,
    split,
    split_warnings,
    suggest_max_length,
    token_lengths,
)
from lmstudio_app.core.data.table import DataError, read_table


def table_of(tmp_path: Path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_table(path)


def test_blank_texts_and_labels_are_dropped_and_counted(tmp_path):
    table = table_of(tmp_path, "text,label\ngood,pos\n   ,neg\nbad,\nfine,  \nok,neg\n")
    data = prepare(table, "text", "label")
    assert data.texts == ["good", "ok"]
    assert data.labels == ["pos", "neg"]
    assert data.dropped_empty == 3
    assert any("3 rows with an empty text or label dropped" in w for w in data.warnings)


def test_labels_differing_by_case_or_spaces_are_merged(tmp_path):
    rows = ["positive", "positive", " Positive ", "POSITIVE", "negative", "Negative", "negative "]
    table = table_of(tmp_path, "text,label\n" + "".join(f"t{i},{lab}\n" for i, lab in enumerate(rows)))
    data = prepare(table, "text", "label")
    assert data.label_names == ["negative", "positive"]
    assert class_counts(data) == {"negative": 3, "positive": 4}
    assert data.merged == {
        " Positive ": "positive",
        "POSITIVE": "positive",
        "Negative": "negative",
        "negative ": "negative",
    }
    assert sorted(data.variants["positive"]) == [" Positive ", "POSITIVE", "positive"]
    assert any("merged" in w for w in data.warnings)


def test_label_variants_can_be_kept_apart(tmp_path):
    table = table_of(tmp_path, "text,label\na,Yes\nb,yes\nc,no\n")
    data = prepare(table, "text", "label", merge_variants=False)
    assert data.label_names == ["no", "Yes", "yes"]
    assert data.merged == {}
    assert data.variants == {"yes": ["Yes", "yes"]}  # still reported, so the UI can offer the merge


def test_numeric_labels_stay_strings_in_numeric_order(tmp_path):
    table = table_of(
        tmp_path, "text,label\n" + "".join(f"t{i},{lab}\n" for i, lab in enumerate([10, 2, 1, 2, 10]))
    )
    data = prepare(table, "text", "label")
    assert data.label_names == ["1", "2", "10"]
    assert data.labels == ["10", "2", "1", "2", "10"]


def test_one_class_only_is_a_warning(tmp_path):
    data = prepare(table_of(tmp_path, "text,label\na,x\nb,x\n"), "text", "label")
    assert any("only one class" in w for w in data.warnings)


def test_a_class_with_a_single_example_stays_in_training(tmp_path):
    rows = "".join(f"t{i},{'a' if i < 10 else 'b'}\n" for i in range(20)) + "lonely,c\n"
    data = prepare(table_of(tmp_path, "text,label\n" + rows), "text", "label")
    assert any("class 'c' has 1 example" in w for w in data.warnings)
    train, val = split(data, 0.2, seed=1)
    assert "c" in train.labels and "c" not in val.labels
    warnings = split_warnings(train, val)
    assert any("'c' has no validation examples" in w for w in warnings)
    assert any("'c' has only 1 training example" in w for w in warnings)


def test_missing_or_clashing_columns(tmp_path):
    table = table_of(tmp_path, "text,label\na,b\n")
    with pytest.raises(DataError, match="'review' is not in data.csv; its columns are: text, label"):
        prepare(table, "review", "label")
    with pytest.raises(DataError, match="both 'text'"):
        prepare(table, "text", "text")


def test_header_only_cannot_be_prepared(tmp_path):
    with pytest.raises(DataError, match="no data rows"):
        prepare(table_of(tmp_path, "text,label\n"), "text", "label")


def test_sentence_pairs(tmp_path):
    table = table_of(tmp_path, "a,b,label\nthe cat,a dog,same\nx,,diff\n")
    data = prepare(table, "a", "label", "b")
    assert data.pairs == ["a dog"] and data.dropped_empty == 1


def test_split_is_stratified_seeded_and_complete(tmp_path):
    rows = "".join(f"t{i},{'a' if i % 4 else 'b'}\n" for i in range(100))
    data = prepare(table_of(tmp_path, "text,label\n" + rows), "text", "label")
    train, val = split(data, 0.2, seed=7)
    assert class_counts(val) == {"a": 15, "b": 5}
    assert class_counts(train) == {"a": 60, "b": 20}
    assert sorted(train.texts + val.texts) == sorted(data.texts)
    again, _ = split(data, 0.2, seed=7)
    assert again.texts == train.texts
    assert split(data, 0.2, seed=8)[0].texts != train.texts
    assert (train.split.part, val.split.part, val.split.seed) == (
        "train",
        "val",
        7,
    ) and train.source == val.source
    with pytest.raises(DataError, match="between 0 and 1"):
        split(data, 1.5)


def test_token_lengths_and_suggested_max_length(tmp_path, tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model("encoder"))
    rows = "".join(f"{'the cat ' * (i % 10 + 1)},x\n" for i in range(50))
    data = prepare(table_of(tmp_path, "text,label\n" + rows), "text", "label")
    lengths = token_lengths(tokenizer, data)
    assert len(lengths) == 50 and max(lengths) == 22 and min(lengths) == 4
    assert suggest_max_length(lengths) == 32
    assert suggest_max_length([]) == 128
    assert suggest_max_length([5000] * 10) == 512
    # short texts: all of them are covered (a 95th percentile of 16 would cut the longest, 19 tokens)
    assert suggest_max_length([10] * 96 + [19] * 4) == 32
    assert suggest_max_length([100] * 99 + [400]) == 112  # long tails: the 95th percentile
