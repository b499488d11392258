"""A passage with spans marked in it (the answer, the expected answer), found by their character offsets.

The core's offsets index Python strings (code points); Qt's text positions count UTF-16 units, so a
passage with an emoji before the answer would be marked one place off without `qt_position`. The marks are
extra selections: the passage's own text is never changed, and it stays editable where it is an input.
"""

from __future__ import annotations

import html

from PySide6.QtGui import QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTextEdit, QWidget

from lmstudio_app.ui.plot_theme import PlotColours, register
from lmstudio_app.ui.taskviews.colours import mark_colour, text_colour


def qt_position(text: str, index: int) -> int:
    """The Qt text position of Python string index `index` of `text`."""
    return len(text[:index].encode("utf-16-le")) // 2


class PassageView(QPlainTextEdit):
    """`mark([(start, end, hue), ...])` highlights those characters of the passage shown (its toPlainText)."""

    def __init__(self, parent: QWidget | None = None, read_only: bool = True) -> None:
        super().__init__(parent)
        self.setReadOnly(read_only)
        self.marks: list[tuple[int, int, str]] = []
        register(self)

    def apply_plot_theme(self, _c: PlotColours) -> None:
        self.mark(self.marks)

    def mark(self, spans: list[tuple[int, int, str]], scroll: bool = True) -> None:
        self.marks = list(spans)
        text = self.toPlainText()
        selections = []
        for start, end, hue in self.marks:
            selection = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.document())
            cursor.setPosition(qt_position(text, start))
            cursor.setPosition(qt_position(text, end), QTextCursor.MoveMode.KeepAnchor)
            style = QTextCharFormat()
            style.setBackground(mark_colour(hue))
            style.setForeground(text_colour())
            selection.cursor, selection.format = cursor, style
            selections.append(selection)
        self.setExtraSelections(selections)
        if scroll and selections:
            shown = QTextCursor(selections[0].cursor)
            shown.clearSelection()
            self.setTextCursor(shown)
            self.ensureCursorVisible()

    def marked_texts(self) -> list[str]:
        """The text of each mark as shown (what a reader sees highlighted)."""
        return [s.cursor.selectedText() for s in self.extraSelections()]


class MarkKey(QLabel):
    """What each mark's colour means, as chips of those colours (redrawn with the theme)."""

    def __init__(self, marks: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.marks = marks  # (hue, meaning)
        self.setWordWrap(True)
        register(self)

    def apply_plot_theme(self, _c: PlotColours) -> None:
        self.setText(
            " ".join(
                f"<span style='background-color: {mark_colour(hue).name()}; color: {text_colour().name()}'>"
                f"&nbsp;{html.escape(meaning)}&nbsp;</span>"
                for hue, meaning in self.marks
            )
        )
