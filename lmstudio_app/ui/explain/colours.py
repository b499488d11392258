"""Signed, diverging colours for attributions, readable on the light and the dark theme.

Positive (pushes towards the explained class or word) is orange-red, negative (pushes away) is blue:
a pair that colour-blind readers still tell apart. Strength is the share of the largest |score|, and
the colour is mixed into the theme's own background, so zero looks like no colour at all.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from lmstudio_app.ui.theme import is_dark

POSITIVE = QColor("#e4572e")
NEGATIVE = QColor("#2f7fd1")
MAX_MIX = 0.85  # the strongest token keeps a trace of the background so its text stays readable


def background() -> QColor:
    return QColor("#202124") if is_dark() else QColor("#ffffff")


def foreground() -> QColor:
    return QColor("#e8eaed") if is_dark() else QColor("#000000")


def mix(a: QColor, b: QColor, t: float) -> QColor:
    t = max(0.0, min(1.0, t))
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


def score_colour(score: float, scale: float) -> QColor:
    """The colour of `score` when `scale` is the largest |score| shown."""
    if scale <= 0:
        return background()
    return mix(background(), POSITIVE if score >= 0 else NEGATIVE, MAX_MIX * abs(score) / scale)


class ColourLegend(QWidget):
    """A horizontal colour bar: what blue, no colour and red mean, and the scale's end values."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scale = 1.0
        self.towards = "the class"
        self.signed = True
        self.setMinimumHeight(52)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_scale(self, scale: float, towards: str, signed: bool = True) -> None:
        """`towards`: what a positive score favours; unsigned scores (rollout) get a one-sided bar."""
        self.scale, self.towards, self.signed = scale, towards, signed
        self.setToolTip(
            f"Colour of a token: red pushes the output towards {towards}, blue pushes it away; "
            "the stronger the colour, the larger |score|."
            if signed
            else f"Colour of a token: the stronger the red, the more {towards}."
        )
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        width, height = self.width(), self.height()
        bar = QRectF(0, 0, width - 1, 14)
        gradient = QLinearGradient(QPointF(0, 0), QPointF(width, 0))
        gradient.setColorAt(0.0, mix(background(), NEGATIVE, MAX_MIX) if self.signed else background())
        if self.signed:
            gradient.setColorAt(0.5, background())
        gradient.setColorAt(1.0, mix(background(), POSITIVE, MAX_MIX))
        painter.fillRect(bar, gradient)
        painter.setPen(foreground())
        painter.drawRect(bar)
        numbers, words = QRectF(0, 16, width, 16), QRectF(0, 32, width, height - 32)
        left, centre, right = (
            Qt.AlignmentFlag.AlignLeft,
            Qt.AlignmentFlag.AlignHCenter,
            Qt.AlignmentFlag.AlignRight,
        )
        # Numbers on one line, meanings on the next, so narrow columns never overlap them.
        if self.signed:
            painter.drawText(numbers, left, f"−{self.scale:.3g}")
            painter.drawText(numbers, centre, "0")
            painter.drawText(numbers, right, f"+{self.scale:.3g}")
            painter.drawText(words, left, "← away from")
            painter.drawText(words, centre, self.towards)
            painter.drawText(words, right, "towards →")
        else:
            painter.drawText(numbers, left, "0")
            painter.drawText(numbers, right, f"{self.scale:.3g}")
            painter.drawText(words, right, self.towards)
        painter.end()
