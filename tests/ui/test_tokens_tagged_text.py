"""The tagged-text view on its own: entity chips over exactly their words with the type after them, tags
under the words when they mark no entities, every word's tag and score in its tooltip, unsure words
underlined, and the text itself kept as typed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCharFormat, QTextCursor

from lmstudio_app.core.tokens.scheme import words_of
from lmstudio_app.ui.tokens.tagged_text import TaggedText

TEXT = "Ann  visited\nNew York today."


def tokens(text: str, tags: list[str], scores: list[float]) -> list[dict]:
    return [
        {"word": w, "tag": t, "score": s, "start": a, "end": b}
        for (w, a, b), t, s in zip(words_of(text), tags, scores, strict=True)
    ]


def format_at(view: TaggedText, position: int) -> QTextCharFormat:
    cursor = QTextCursor(view.document())
    cursor.setPosition(position + 1)  # the format of the character before the cursor
    return cursor.charFormat()


def test_entities_are_chips_over_their_words_with_their_type_after(qtbot):
    view = TaggedText()
    qtbot.addWidget(view)
    view.set_types(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], entity_tags=True)
    tags = ["B-PER", "O", "B-LOC", "I-LOC", "O", "O"]
    words = tokens(TEXT, tags, [0.9, 0.99, 0.8, 0.4, 0.97, 0.99])
    entities = [
        {"text": "Ann", "label": "PER", "start": 0, "end": 3, "score": 0.9},
        {"text": "New York", "label": "LOC", "start": 13, "end": 21, "score": 0.6},
    ]
    view.show_tagged(TEXT, words, entities)
    shown = view.toPlainText()
    assert shown == "Ann PER  visited\nNew York LOC today."  # spaces and the line break kept
    assert [(c.text, c.label) for c in view.chips] == [("Ann", "PER"), ("New York", "LOC")]
    for chip in view.chips:
        assert shown[chip.start : chip.end] == chip.text
    per, loc = (format_at(view, c.start).background().color().name() for c in view.chips)
    assert (
        per != loc and format_at(view, shown.index("visited")).background().style() == Qt.BrushStyle.NoBrush
    )  # plain
    york = format_at(view, shown.index("York"))
    assert "York</b>: I-LOC, 40.0 %" in york.toolTip() and "unsure" in york.toolTip()
    assert york.underlineStyle() == QTextCharFormat.UnderlineStyle.WaveUnderline
    assert "part of the LOC entity “New York”" in format_at(view, shown.index("New")).toolTip()


def test_tags_without_entities_are_written_under_each_word(qtbot):
    view = TaggedText()
    qtbot.addWidget(view)
    view.set_types(["DET", "NOUN", "VERB"], entity_tags=False)
    text = "the cat sat"
    view.show_tagged(text, tokens(text, ["DET", "NOUN", "VERB"], [0.9, 0.8, 0.7]), [])
    assert view.toPlainText() == "theDET catNOUN satVERB" and view.chips == []
    sub = format_at(view, view.toPlainText().index("NOUN"))
    assert sub.verticalAlignment() == QTextCharFormat.VerticalAlignment.AlignSubScript
