"""Multi-label cells: separators, JSON lists, empty cells, repeats, spaces, the guessed separator, the split
and the one-line warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmstudio_app.core.data.labeled import class_counts, prepare, split, split_warnings
from lmstudio_app.core.data.multilabel import (
    JSON_LISTS,
    detect_separator,
    join_labels,
    parse_cell,
    read_cells,
)
from lmstudio_app.core.data.table import DataError, read_table
from lmstudio_app.core.finetune.datasets import DataPlan, build_splits, load_labeled


def table_of(tmp_path: Path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_table(path)


@pytest.mark.parametrize(
    ("cell", "separator", "labels"),
    [
        ("animal;colour", ";", ["animal", "colour"]),
        (" animal ; colour ", ";", ["animal ", " colour"]),  # the parts are trimmed later, and counted
        ('["animal", "colour"]', ";", ["animal", "colour"]),  # a JSON list whatever the separator
        ('["animal", 3]', JSON_LISTS, ["animal", "3"]),
        ("animal", JSON_LISTS, ["animal"]),  # JSON lists: any other cell is one label
        ("", ";", []),
        ("   ", JSON_LISTS, []),
        ("[]", ";", []),
        ("a|b|c", "|", ["a", "b", "c"]),
    ],
)
def test_a_cell_gives_its_labels(cell, separator, labels):
    assert parse_cell(cell, separator) == labels


def test_a_broken_json_list_is_refused_in_one_line():
    with pytest.raises(DataError, match=r"is not a JSON list of strings") as info:
        parse_cell('["animal", colour]', JSON_LISTS)
    assert "\n" not in str(info.value)
    assert parse_cell('["animal", colour]', ",") == ['["animal"', " colour]"]  # with a separator: text


def test_tidying_cells_counts_what_it_did():
    rows, notes = read_cells(["animal; animal;colour", "", " colour ", "a;;b", "[]"], ";")
    assert rows == [["animal", "colour"], [], ["colour"], ["a", "b"], []]
    assert (notes.no_labels, notes.duplicates, notes.trimmed, notes.empty_parts) == (2, 1, 1, 1)
    assert notes.warnings() == [
        "2 rows with no label kept: they teach that none applies",
        "1 label repeated within a cell counted once",
        "spaces around 1 label trimmed",
        "1 empty label between separators ignored",
    ]


@pytest.mark.parametrize(
    ("cells", "found"),
    [
        (["a;b", "a", "b;c", "c", ""], ";"),
        (["a|b", "a", "b|c", "c"], "|"),
        (['["a", "b"]', '["a"]', "[]"], JSON_LISTS),
        (["positive", "negative", "positive"], None),
        (["New York, NY", "Paris, France", "Rome, Italy"], None),  # commas, but no label recurs
        (["", "  "], None),
    ],
)
def test_the_separator_is_guessed_from_the_cells(cells, found):
    assert detect_separator(cells) == found


def test_labels_are_written_back_as_they_were_read():
    assert join_labels(["animal", "colour"], ";") == "animal;colour"
    assert join_labels(["animal", "colour"], JSON_LISTS) == '["animal", "colour"]'
    assert join_labels([], JSON_LISTS) == "[]"


def test_prepare_reads_several_labels_per_row(tmp_path):
    table = table_of(
        tmp_path,
        "text,labels\n"
        'a cat,"Animal; animal"\n'  # a case variant in the same cell: one label
        "red,colour\n"
        'a red dog,"animal;colour"\n'
        "nothing here,\n"
        ",animal\n"  # an empty text: dropped
        'blue cat,"colour ; animal"\n',
    )
    data = prepare(table, "text", "labels", multi_label=True, separator=";")
    assert data.texts == ["a cat", "red", "a red dog", "nothing here", "blue cat"]
    assert data.label_sets == [["animal"], ["colour"], ["animal", "colour"], [], ["animal", "colour"]]
    assert data.label_names == ["animal", "colour"]
    assert class_counts(data) == {"animal": 3, "colour": 3}
    assert data.dropped_empty == 1
    assert data.source.multi_label and data.source.label_separator == ";"
    assert "1 row with an empty text dropped" in data.warnings
    assert "1 row with no label kept: they teach that none applies" in data.warnings
    assert "1 label repeated within a cell counted once" in data.warnings
    assert "spaces around 3 labels trimmed" in data.warnings
    assert data.merged == {"Animal": "animal"}


def test_prepare_guesses_the_separator_and_reads_json_lists(tmp_path):
    guessed = prepare(table_of(tmp_path, "t,l\nx,a|b\ny,a\nz,b|c\nw,\n"), "t", "l", multi_label=True)
    assert guessed.source.label_separator == "|"
    assert guessed.label_sets == [["a", "b"], ["a"], ["b", "c"], []]
    rows = '{"t": "x", "l": ["b", "a"]}\n{"t": "y", "l": []}\n{"t": "z", "l": ["c"]}\n'
    listed = prepare(table_of(tmp_path, rows, "data.jsonl"), "t", "l", multi_label=True)
    assert listed.source.label_separator == JSON_LISTS
    assert listed.label_sets == [["a", "b"], [], ["c"]]


def test_a_wrong_separator_is_said_in_one_line(tmp_path):
    data = prepare(table_of(tmp_path, "t,l\nx,a|b\ny,a\nz,b\n"), "t", "l", multi_label=True, separator=";")
    assert data.label_names == ["a", "a|b", "b"]
    assert "no row has more than one label (separator ';'): is that the right separator?" in data.warnings


def test_a_multi_label_split_keeps_rare_combinations_on_both_sides_and_reads_again(tmp_path):
    lines = ["text,labels"]
    for i in range(40):
        labels = ["a;b", "a", "b", ""][i % 4]
        lines.append(f"row {i},{labels}")
    lines += [f"rare {i},c;{'d' if i % 2 else 'e'}{i}" for i in range(10)]  # ten combinations seen once
    path = tmp_path / "data.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = prepare(read_table(path), "text", "labels", multi_label=True)
    train, val = split(data, 0.2, seed=1)
    assert len(train) + len(val) == 50 and set(train.texts).isdisjoint(val.texts)
    for combo in (["a", "b"], ["a"], ["b"], []):
        assert train.label_sets.count(combo) == 8 and val.label_sets.count(combo) == 2
    assert sum(t.startswith("rare") for t in val.texts) == 2  # the once-seen combinations split as a group
    assert class_counts(val)["c"] == 2
    # The plan reads the same rows again (resume): separator and all.
    plan = DataPlan.of(train, val)
    again_train, again_val = build_splits(plan)
    assert again_train.label_sets == train.label_sets and again_val.texts == val.texts
    assert load_labeled(plan.data).source == data.source


def test_a_label_only_in_validation_is_said_in_one_line(tmp_path):
    train = prepare(table_of(tmp_path, "t,l\nx,a;b\ny,a\nz,b\n", "train.csv"), "t", "l", multi_label=True)
    assert train.source.label_separator == ";"  # guessed: one cell in three, and its labels recur
    val = prepare(
        table_of(tmp_path, "t,l\nv,a;bird\nw,b\n", "val.csv"), "t", "l", multi_label=True, separator=";"
    )
    warnings = split_warnings(train, val)
    assert (
        "label 'bird' is only in the validation data: the model never learns it and does not predict it "
        "(its recall counts as 0)"
    ) in warnings
    assert "label 'a' has only 2 training examples" in warnings


def test_single_label_data_is_unchanged(tmp_path):
    data = prepare(table_of(tmp_path, "t,l\nx,a;b\ny,a\n"), "t", "l")
    assert data.label_sets is None and data.labels == ["a;b", "a"]
    assert not data.source.multi_label and data.source.label_separator is None
