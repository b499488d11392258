"""The Attribution tab's inputs for a word tagger (which word, which tag) and a QA model (the question,
start or end), and the tagged sentence whose words are links to explain them.

The editor above the views keeps holding the text: the tagger's sentence, or the QA model's passage.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from lmstudio_app.core.explain.attribution import Explanation
from lmstudio_app.core.explain.tagger import sentence_words
from lmstudio_app.ui.explain.colours import background, foreground, mix
from lmstudio_app.ui.sizing import compact_combo

PREDICTED_TAG = "predicted tag"


def _row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        row.addWidget(w)
    return row


class WordPicker(QWidget):
    """Word: [n · word] Tag: [predicted tag | O | B-LOC ...], for a tagger; the words follow the text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.word_combo = compact_combo(QComboBox(), 18)
        self.word_combo.setToolTip("The word whose tag is explained (or click a word of the tagged sentence)")
        self.tag_combo = compact_combo(QComboBox(), 12)
        self.tag_combo.setToolTip("The tag whose logit is explained: the predicted one or any other")
        self.setLayout(_row(QLabel("Word:"), self.word_combo, QLabel("Tag:"), self.tag_combo))
        self.set_tags([])

    def set_text(self, text: str) -> None:
        """List the words of `text` (as the tagger splits it), keeping the chosen position when it exists."""
        keep = max(0, self.word_combo.currentIndex())
        self.word_combo.blockSignals(True)
        self.word_combo.clear()
        for i, word in enumerate(sentence_words(text)):
            self.word_combo.addItem(f"{i + 1} · {word}", i)
        self.word_combo.setCurrentIndex(min(keep, self.word_combo.count() - 1))
        self.word_combo.blockSignals(False)

    def set_tags(self, tags: list[str]) -> None:
        self.tag_combo.clear()
        self.tag_combo.addItem(PREDICTED_TAG, None)
        for tag in tags:
            self.tag_combo.addItem(tag, tag)

    def word(self) -> int | None:
        return self.word_combo.currentData()

    def tag(self) -> str | None:
        return self.tag_combo.currentData()

    def select(self, index: int) -> None:
        self.word_combo.setCurrentIndex(self.word_combo.findData(index))


class AnswerInputs(QWidget):
    """Question: [...] Explain: [answer start | answer end], for a QA model (the editor holds the passage)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.question_edit = QLineEdit(placeholderText="the question")
        self.question_edit.setToolTip("The question; the passage goes in the box below")
        self.end_combo = QComboBox()
        self.end_combo.addItem("answer start", False)
        self.end_combo.addItem("answer end", True)
        self.end_combo.setToolTip(
            "Explain the start logit at the answer's first token, or the end logit at its last"
        )
        row = _row(QLabel("Question:"), self.question_edit, QLabel("Explain:"), self.end_combo)
        row.setStretch(1, 1)
        self.setLayout(row)

    def question(self) -> str:
        return self.question_edit.text()

    def end(self) -> bool:
        return bool(self.end_combo.currentData())


class TagStrip(QLabel):
    """The sentence with each word's predicted tag; a click on a word explains that word's tag."""

    word_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, wordWrap=True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setToolTip(
            "Every word with the tag the model predicts (a word shown without a tag is tagged O); click a word "
            "to explain its tag"
        )
        self.hide()
        self.linkActivated.connect(lambda href: self.word_clicked.emit(int(href)))
        self.result: Explanation | None = None

    def show_tags(self, result: Explanation | None) -> None:
        self.result = result
        self.setVisible(result is not None)
        self.redraw()

    def redraw(self) -> None:
        """Draw (again) in the current theme's colours."""
        if self.result is None:
            self.setText("")
            return
        fg, muted = foreground(), mix(foreground(), background(), 0.45)
        chosen = set(self.result.focus)
        parts = []
        for i, row in enumerate(self.result.details.get("tags", [])):
            weight = "bold" if i in chosen else "normal"
            tag = (
                ""
                if row["tag"] == "O"
                else f"<span style='color:{muted.name()};'>&nbsp;{html.escape(row['tag'])}</span>"
            )
            parts.append(
                f"<a href='{row['number'] - 1}' style='color:{fg.name()}; font-weight:{weight};'>"
                f"{html.escape(row['word'])}</a>{tag}"
            )
        self.setText("Tagged: " + " ".join(parts))
