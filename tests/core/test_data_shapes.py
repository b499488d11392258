"""Tables of every shape a JSON or JSON Lines export can have: read as rows, or one DataError that says
which shape is expected. None of them may end in an IndexError or a table without columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmstudio_app.core.data.labeled import prepare
from lmstudio_app.core.data.table import JSON_SHAPE, DataError, inspect_table, read_table

ROWS = [{"text": "a b", "label": "x"}, {"text": "c d", "label": "y"}, {"text": "e f", "label": "x"}]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("indent", [None, 2], ids=["one-line", "pretty"])
def test_a_json_array_of_objects_is_one_row_per_object(tmp_path, indent):
    path = write(tmp_path, "data.json", json.dumps(ROWS, indent=indent))
    assert inspect_table(path) == {
        "rows": 3,
        "columns": ["text", "label"],
        "encoding": "utf-8",
        "delimiter": "",
        "problems": [],
    }
    data = prepare(read_table(path), "text", "label")
    assert (data.texts, data.labels) == (["a b", "c d", "e f"], ["x", "y", "x"])


def test_a_json_array_under_a_jsonl_name_is_read_as_the_array(tmp_path):
    table = read_table(write(tmp_path, "data.jsonl", json.dumps(ROWS)))
    assert table.frame["text"].tolist() == ["a b", "c d", "e f"] and table.problems == []


def test_json_keys_get_the_same_names_as_a_csv_header(tmp_path):
    table = read_table(write(tmp_path, "keys.json", json.dumps([{" text ": "a", "": "x", "text": "b"}])))
    assert table.columns == ["text", "column_2", "text.1"]
    assert "duplicate column 'text' renamed 'text.1'" in table.problems


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("scalars.json", "[1, 2, 3]", "is an array without JSON objects (its items are numbers)"),
        ("strings.json", '["a b", "c d"]', "is an array without JSON objects (its items are strings)"),
        ("empty.json", "[]", "is an empty JSON array (no rows)"),
        ("nested.json", json.dumps({"data": ROWS}), "holds one JSON object (keys: data), not a table"),
        ("object.json", "{}", "holds one empty JSON object, not a table"),
        ("empties.json", "[{}, {}]", "has only empty objects ({}), so no columns"),
        ("empties.jsonl", "{}\n{}\n", "has only empty objects ({}), so no columns"),
    ],
)
def test_json_that_is_not_a_table_is_one_line_saying_the_expected_shape(tmp_path, name, content, message):
    with pytest.raises(DataError) as caught:
        read_table(write(tmp_path, name, content))
    text = str(caught.value)
    assert message in text and JSON_SHAPE in text and '[{"text": ..., "label": ...}, ...]' in text
    assert "\n" not in text
