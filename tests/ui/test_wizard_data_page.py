"""The Data page: detection shown, overrides applied, and bad files explained with Next blocked."""

from __future__ import annotations

import json

import pytest
from wizard_helpers import next_enabled

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard


@pytest.fixture
def wizard(qtbot):
    wizard = FineTuneWizard(AppState())
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def open_and_wait(qtbot, wizard, path) -> None:
    wizard.open_file(path)
    qtbot.waitUntil(lambda: not wizard.data_page.loading, timeout=20_000)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"text,label\n", "header but no data rows"),
        ("binary.csv", bytes(range(256)) * 40, "binary data"),
        ("archive.csv", b"PK\x03\x04" + b"\x00" * 200, "not a text table"),
        ("scalars.json", b"[1, 2, 3]", "an array without JSON objects (its items are numbers)"),
    ],
)
def test_bad_file_is_explained_and_blocks_next(qtbot, wizard, tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    open_and_wait(qtbot, wizard, path)
    page = wizard.data_page
    assert expected in page.problems.text()
    assert "Cannot use this file" in page.problems.text()
    assert not page.isComplete() and not next_enabled(wizard)
    assert not page.validatePage()


def test_missing_file_is_explained(qtbot, wizard, tmp_path):
    open_and_wait(qtbot, wizard, tmp_path / "nope.csv")
    assert "File not found" in wizard.data_page.problems.text() and not next_enabled(wizard)


def test_utf16_tab_file_from_excel_loads(qtbot, wizard, tmp_path):
    path = tmp_path / "excel.txt"
    path.write_text("text\tlabel\ncafé au lait\tdrink\nthé\tdrink\npain\tfood\n", encoding="utf-16")
    open_and_wait(qtbot, wizard, path)
    page = wizard.data_page
    assert "3 rows" in page.detected.text() and "utf-16" in page.detected.text()
    assert "tab-separated" in page.detected.text()
    assert page.preview_model.item(0, 0).text() == "café au lait" and next_enabled(wizard)


def test_json_array_of_objects_shows_one_row_per_object(qtbot, wizard, tmp_path):
    path = tmp_path / "data.json"
    rows = [{"text": "a b", "label": "x"}, {"text": "c d", "label": "y"}, {"text": "e f", "label": "x"}]
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    open_and_wait(qtbot, wizard, path)
    page, model = wizard.data_page, wizard.data_page.preview_model
    assert "3 rows</b>, 2 columns" in page.detected.text() and "No problems found." in page.problems.text()
    headers = [model.horizontalHeaderItem(c).text() for c in range(model.columnCount())]
    assert headers == ["text", "label"] and model.rowCount() == 3
    cells = [[model.item(r, c).text() for c in range(2)] for r in range(3)]
    assert cells == [["a b", "x"], ["c d", "y"], ["e f", "x"]] and next_enabled(wizard)


def test_encoding_and_delimiter_overrides(qtbot, wizard, tmp_path):
    path = tmp_path / "smart.csv"
    path.write_bytes("text;label\n\u201cquoted\u201d text;a\nplain;b\n".encode("cp1252"))
    open_and_wait(qtbot, wizard, path)
    page = wizard.data_page
    assert "cp1252" in page.detected.text() and "semicolon-separated" in page.detected.text()
    assert page.preview_model.item(0, 0).text() == "\u201cquoted\u201d text"

    page.encoding_combo.setCurrentIndex(page.encoding_combo.findData("utf-8"))
    page.encoding_combo.activated.emit(page.encoding_combo.currentIndex())
    qtbot.waitUntil(lambda: not page.loading, timeout=20_000)
    assert "cannot be decoded as utf-8" in page.problems.text() and not next_enabled(wizard)

    page.encoding_combo.setCurrentIndex(page.encoding_combo.findData("cp1252"))
    page.delimiter_combo.setCurrentIndex(page.delimiter_combo.findData(","))
    page.delimiter_combo.activated.emit(page.delimiter_combo.currentIndex())
    qtbot.waitUntil(lambda: not page.loading, timeout=20_000)
    assert "comma-separated" in page.detected.text()
    assert page.preview_model.columnCount() == 1 and next_enabled(wizard)  # the user sees the wrong split


def test_ragged_and_duplicate_columns_are_listed(qtbot, wizard, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("text,text,label\na,b,x\nc,d\ne,f,y,extra\n", encoding="utf-8")
    open_and_wait(qtbot, wizard, path)
    problems = wizard.data_page.problems.text()
    assert "duplicate column 'text' renamed 'text.1'" in problems.replace("&#x27;", "'")
    assert "ragged row" in problems and next_enabled(wizard)


def test_preview_gives_the_text_column_the_room(qtbot, wizard, tmp_path):
    path = tmp_path / "reviews.csv"
    rows = "".join(f"this film was a long and winding story number {i},pos\n" for i in range(5))
    path.write_text("text,label\n" + rows, encoding="utf-8")
    wizard.resize(1000, 700)
    wizard.show()
    open_and_wait(qtbot, wizard, path)
    preview = wizard.data_page.preview
    qtbot.wait(50)
    assert preview.columnWidth(0) > 3 * preview.columnWidth(1)  # texts wide, the short label column narrow
