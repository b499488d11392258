"""Generated tokens coloured by their probability, and the colour scale that says so.

An improbable token is the one worth a look (the decoder took a risk there), so colour grows as the
probability falls: a certain token has no colour, a token of probability near 0 the strongest. Colours mix
the theme's own background towards one hue (explain/colours.py), so the text keeps its contrast in the
light and the dark theme.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from lmstudio_app.ui.explain.colours import POSITIVE, background, foreground, mix

# Every token of probability near 0 gets the strongest colour (attribution views scale theirs to the
# largest score), so it must itself stay readable: 0.7 keeps the dark theme's light text at 4.8:1 (WCAG AA).
STRONGEST = 0.7


def probability_colour(prob: float) -> QColor:
    """The background of a generated token chosen with probability `prob`."""
    return mix(background(), POSITIVE, STRONGEST * (1.0 - prob))


class ProbabilityLegend(QWidget):
    """A colour bar from 100 % (no colour) to 0 % (the strongest colour), labelled at both ends."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(34)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(
            "Colour of a generated token: its probability in the distribution the decoder chose from; "
            "the stronger the colour, the less probable (the more surprising) the token."
        )

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        width = self.width()
        bar = QRectF(0, 0, width - 1, 12)
        gradient = QLinearGradient(QPointF(0, 0), QPointF(width, 0))
        gradient.setColorAt(0.0, probability_colour(1.0))
        gradient.setColorAt(1.0, probability_colour(0.0))
        painter.fillRect(bar, gradient)
        painter.setPen(foreground())
        painter.drawRect(bar)
        text = QRectF(0, 14, width, self.height() - 14)
        painter.drawText(text, Qt.AlignmentFlag.AlignLeft, "100 % (certain)")
        painter.drawText(text, Qt.AlignmentFlag.AlignHCenter, "probability of each token")
        painter.drawText(text, Qt.AlignmentFlag.AlignRight, "0 % (surprising)")
        painter.end()
