"""How a masked cell looks: diagonal hatching on a tint of the theme's muted grey, never a weight's colour.

A causal model's future positions are not "attention 0" but "not allowed at all"; the maps show them as
NaN, and NaN is drawn here: the heatmap's image leaves NaN cells transparent, and so does the overview grid's
colour table, over a `HatchItem` that stripes in screen pixels, crisp at any zoom.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from lmstudio_app.ui.plot_theme import PlotColours, colours

STRIPE_PERIOD = 6  # screen pixels between two stripes


def masked_colours(c: PlotColours | None = None) -> tuple[QColor, QColor]:
    """(fill, stripe) of a masked cell: a tint between background and muted grey, stripes in a stronger grey."""
    c = c or colours()
    back, muted = QColor(c.background), QColor(c.muted)
    fill = QColor(
        *(round(0.55 * a + 0.45 * b) for a, b in zip(back.getRgb()[:3], muted.getRgb()[:3], strict=True))
    )
    stripe = muted.lighter(170) if c.dark else muted.darker(140)
    return fill, stripe


class HatchItem(QGraphicsRectItem):
    """A hatched rectangle drawn in screen pixels (the stripes keep their spacing at any zoom); put it
    under an image whose NaN cells are transparent."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(-1)
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self.fill, self.stripe = masked_colours()

    def set_colours(self, c: PlotColours) -> None:
        self.fill, self.stripe = masked_colours(c)
        self.update()

    def paint(self, painter: QPainter, option: object, widget: object = None) -> None:  # noqa: ARG002
        painter.save()
        area: QRectF = painter.transform().mapRect(self.rect())
        painter.resetTransform()
        painter.fillRect(area, self.fill)
        painter.setPen(QPen(self.stripe, 1))
        # lines x + y = k cut to the rectangle by hand: an SVG export does not keep a clip set here
        left, top, right, bottom = area.left(), area.top(), area.right(), area.bottom()
        k = left + top + STRIPE_PERIOD
        while k < right + bottom:
            x0, x1 = max(left, k - bottom), min(right, k - top)
            painter.drawLine(QLineF(x0, k - x0, x1, k - x1))
            k += STRIPE_PERIOD
        painter.restore()
