"""The word-tags Data page on hand-written files: every broken line named at once with Next off, integer
tags named in "Tag names", doccano spans turned into BIO tags with what was left out listed."""

from __future__ import annotations

import json

import pytest
from task_helpers import choose_task
from wizard_helpers import next_enabled

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard


@pytest.fixture
def page(qtbot):
    wizard = FineTuneWizard(AppState())
    qtbot.addWidget(wizard)
    wizard.show()
    choose_task(qtbot, wizard, "tokens")
    page = wizard.tokens.data_page
    page.wizard_ = wizard
    return page


def open_and_wait(qtbot, page, path) -> None:
    page.open_file(path)
    qtbot.waitUntil(lambda: not page.loading, timeout=60_000)


def test_every_ragged_line_and_token_without_a_tag_is_named_and_next_stays_off(qtbot, page, tmp_path):
    path = tmp_path / "broken.conll"
    path.write_text(
        "EU\tB-ORG\nrejects\tO\ncall\n\nPeter\tB-PER\nBlackburn\tI-PER\n\nx\tO\tO\nsaid\tO\n\nfine\tO\nhere\tO\n",
        encoding="utf-8",
    )
    open_and_wait(qtbot, page, path)
    text = page.problems.toPlainText()
    assert "2 broken lines" in text
    assert "broken.conll line 3: a token without a tag where line 1 has 2 columns (call)." in text
    assert "broken.conll line 8: 3 columns where line 1 has 2 columns (x | O | O)." in text
    assert "<b>2 sentences</b>" in page.detected.text()  # the two whole sentences are shown
    assert page.sentences.item(0, 0).text() == "5" and page.sentences.item(1, 2).text() == "fine here"
    assert not page.isComplete() and not next_enabled(page.wizard_)
    path.write_text("EU\tB-ORG\nrejects\tO\n\nPeter\tB-PER\nBlackburn\tI-PER\n", encoding="utf-8")
    open_and_wait(qtbot, page, path)
    assert page.isComplete() and next_enabled(page.wizard_)
    assert "No problems found." in page.problems.toPlainText()


def test_integer_tags_need_their_names_then_show_them(qtbot, page, tmp_path):
    path = tmp_path / "numbers.jsonl"
    rows = [
        {"tokens": ["Paris", "is", "nice"], "ner_tags": [1, 0, 0]},
        {"tokens": ["in", "London"], "ner_tags": [0, 1]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    open_and_wait(qtbot, page, path)
    text = page.problems.toPlainText()
    assert "The tags are numbers (0 to 1): type their 2 names in order in “Tag names” above" in text
    assert "--tag-names" not in text and not page.isComplete()
    page.names_edit.setText("O, B-LOC")
    page.names_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: not page.loading, timeout=60_000)
    assert page.isComplete(), page.problems.toPlainText()
    assert "Tags given as numbers 0–1" in page.detected.text()
    assert [page.tag_table.item(r, 0).text() for r in range(page.tag_table.rowCount())] == ["O", "B-LOC"]
    assert [page.tokens.item(r, 1).text() for r in range(page.tokens.rowCount())] == ["B-LOC", "O", "O"]
    page.names_edit.setText("O")  # one name too few: tag 1 has none, on both lines
    page.names_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: not page.loading, timeout=60_000)
    assert "numbers.jsonl line 1: tag 1 has no name" in page.problems.toPlainText() and not page.isComplete()


def test_doccano_spans_become_bio_tags_and_what_was_left_out_is_listed(qtbot, page, tmp_path):
    path = tmp_path / "spans.jsonl"
    rows = [
        {"text": "Ann lives in New York.", "label": [[0, 3, "PER"], [13, 21, "LOC"]]},
        {"text": "Bob met Ann.", "label": [[0, 3, "PER"], [1, 3, "LOC"]]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    open_and_wait(qtbot, page, path)
    assert page.isComplete(), page.problems.toPlainText()
    assert "texts with spans (doccano)" in page.detected.text() and "PER" in page.detected.text()
    assert [
        (page.tokens.item(r, 0).text(), page.tokens.item(r, 1).text()) for r in range(page.tokens.rowCount())
    ] == [
        ("Ann", "B-PER"),
        ("lives", "O"),
        ("in", "O"),
        ("New", "B-LOC"),
        ("York", "I-LOC"),
        (".", "O"),
    ]
    assert "line 2: span 1-3 LOC ('ob') overlaps another span: left out" in page.problems.toPlainText()


def test_one_tag_only_or_a_missing_file_is_explained(qtbot, page, tmp_path):
    path = tmp_path / "flat.conll"
    path.write_text("a\tO\nb\tO\n", encoding="utf-8")
    open_and_wait(qtbot, page, path)
    assert "Every word has the same tag (O)" in page.problems.toPlainText() and not page.isComplete()
    open_and_wait(qtbot, page, tmp_path / "nope.conll")
    assert "Cannot use this file: File not found" in page.problems.toPlainText() and not page.isComplete()
