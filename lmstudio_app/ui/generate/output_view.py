"""The generated text as it streams: the prompt, then each new token coloured by its probability.

The output is a read-only text view (it wraps and keeps line breaks like the text it is) rather than one
widget per token: a long generation stays cheap to append to. Each token's character range is kept, so
hovering a token shows its own tooltip: its probability, the model's raw probability and the top
alternatives at that step.
"""

from __future__ import annotations

import html
from bisect import bisect_right

from PySide6.QtCore import QEvent, QObject, QPoint
from PySide6.QtGui import QHelpEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextEdit, QToolTip, QVBoxLayout, QWidget

from lmstudio_app.core.generate.stream import GeneratedToken
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.explain.colours import foreground
from lmstudio_app.ui.generate.colours import ProbabilityLegend, probability_colour
from lmstudio_app.ui.generate.next_token_view import visible_token


def token_tooltip(token: GeneratedToken) -> str:
    """Rich text: the token, its probabilities, then the alternatives the decoder had at that step."""
    lines = [
        f"<b>{html.escape(visible_token(token.token))}</b> (id {token.id})",
        f"probability {fmt.percent(token.prob)} (as the decoder chose, after the settings' processors)",
        f"raw probability {fmt.percent(token.raw_prob)} (the model's own softmax)",
    ]
    if token.top:
        lines.append("Top alternatives:")
        lines += [
            f"&nbsp;&nbsp;{html.escape(visible_token(c.token))}&nbsp;&nbsp;{fmt.percent(c.prob)}"
            for c in token.top
        ]
    return "<br>".join(lines)


class TokenText(QTextEdit):
    """Read-only text whose generated tokens are coloured spans, each with a tooltip of its own."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.viewport().installEventFilter(self)
        self.prompt = ""
        self.tokens: list[GeneratedToken] = []
        self.starts: list[int] = []  # each token's first character in the document

    def start(self, prompt: str) -> None:
        """A new output: the prompt in plain text; the tokens follow."""
        self.prompt, self.tokens, self.starts = prompt, [], []
        self.clear()
        self.setCurrentCharFormat(QTextCharFormat())
        self.insertPlainText(prompt)

    def append_token(self, token: GeneratedToken) -> None:
        self.append_tokens([token])

    def append_tokens(self, tokens: list[GeneratedToken]) -> None:
        """Add tokens at the end with one layout and one scroll, however many arrived together."""
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        for token in tokens:
            self.starts.append(cursor.position())
            self.tokens.append(token)
            cursor.insertText(token.text, self._format(token))
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())

    def restyle(self) -> None:
        """Colour the tokens again in the current theme."""
        prompt, tokens = self.prompt, self.tokens
        self.start(prompt)
        self.append_tokens(tokens)

    def generated_text(self) -> str:
        """The text after the prompt, as shown."""
        return self.toPlainText()[len(self.prompt) :]

    def token_at(self, pos: QPoint) -> GeneratedToken | None:
        """The generated token under a viewport position, if any (not the prompt, not past the text)."""
        cursor = self.cursorForPosition(pos)
        rect = self.cursorRect(cursor)
        if not rect.top() <= pos.y() <= rect.bottom():
            return None  # below the last line or between lines
        char = cursor.position() - (1 if pos.x() < rect.x() else 0)  # the character under the pointer
        index = bisect_right(self.starts, char) - 1
        if index < 0:
            return None
        end = self.starts[index + 1] if index + 1 < len(self.starts) else self.document().characterCount() - 1
        return self.tokens[index] if char < end else None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        """Tooltips of the viewport. A filter, not a `viewportEvent` override: through an override every
        paint of the growing text ran inside a Python call holding the GIL, and the generating thread
        waited on it (the stream lost ~15 % over 256 tokens)."""
        if (
            watched is self.viewport()
            and event.type() == QEvent.Type.ToolTip
            and isinstance(event, QHelpEvent)
        ):
            token = self.token_at(event.pos())
            if token is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), token_tooltip(token), self.viewport())
            return True
        return False

    @staticmethod
    def _format(token: GeneratedToken) -> QTextCharFormat:
        style = QTextCharFormat()
        style.setBackground(probability_colour(token.prob))
        style.setForeground(foreground())
        return style


class OutputView(QWidget):
    """The streamed text above its colour scale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = TokenText()
        self.text.setPlaceholderText("The generated text appears here, token by token.")
        self.legend = ProbabilityLegend()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.legend)
