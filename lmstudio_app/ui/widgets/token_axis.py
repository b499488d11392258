"""An axis whose ticks are cells (tokens, layers, heads): every label drawn, rotated when narrow.

pyqtgraph's own axis drops labels that overlap, so only 4-5 of 30 tokens were named. This axis
names every cell that is at least `MIN_CELL_PX` wide (a smaller font first, then vertical text on
the bottom axis); below that it names every k-th and zooming in (wheel) names the rest. Sentence B's
labels take the theme's segment colour, so a pair reads as two sentences.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter

from lmstudio_app.ui.plot_theme import PlotColours, colours

MIN_CELL_PX = 9.0  # a 7 pt label still reads at this pitch
FONT_SIZES = (9, 8, 7)  # points, tried in order until a label fits its cell
MAX_CHARS = 14


def short(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


class TokenAxis(pg.AxisItem):
    """Ticks at cell centres i + 0.5 reading `labels[i]`; `b_start` colours sentence B's labels."""

    def __init__(self, orientation: str, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.labels: list[str] = []
        self.b_start: int | None = None
        self.rotated = False
        self.colours: PlotColours = colours()
        self.enableAutoSIPrefix(False)
        self.setStyle(autoExpandTextSpace=False, tickLength=4)
        self.drawn: list[str] = []  # the labels of the last paint (what the user sees; tests read it)

    def set_labels(self, labels: list[str], b_start: int | None = None) -> None:
        """Label the cells; size the axis for the widest label (rotated on a crowded bottom axis)."""
        self.labels, self.b_start = list(labels), b_start
        metrics = QFontMetrics(self._font(FONT_SIZES[0]))
        widest = max((metrics.horizontalAdvance(short(s)) for s in self.labels), default=10)
        title = 22 if self.labelText else 0
        if self.orientation in ("left", "right"):
            self.setWidth(widest + 14 + title)
        else:
            self.rotated = len(self.labels) > 8 or widest > 48
            self.setHeight((widest if self.rotated else metrics.height()) + 12 + title)
        self.picture = None
        self.update()

    def apply_colours(self, c: PlotColours) -> None:
        self.colours = c
        self.setPen(c.foreground)
        self.setTextPen(c.foreground)

    @staticmethod
    def _font(points: int) -> QFont:
        font = QFont()
        font.setPointSize(points)
        return font

    def _visible(self) -> tuple[int, int, float]:
        """(first cell, end cell, pixels per cell) on screen."""
        low, high = sorted(self.range)
        lo, hi = max(0, math.floor(low)), min(len(self.labels), math.ceil(high))
        length = (
            self.geometry().width() if self.orientation in ("top", "bottom") else self.geometry().height()
        )
        return lo, hi, length / max(high - low, 1e-9)

    def tickValues(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803 (pyqtgraph's names)
        lo, hi, per_cell = self._visible()
        if hi <= lo or per_cell <= 0:
            return []
        step = max(1, math.ceil(MIN_CELL_PX / per_cell))
        return [(float(step), [i + 0.5 for i in range(lo - lo % step, hi, step) if i >= lo])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        return [""] * len(values)  # drawn in drawPicture, with colour and rotation

    def _position(self, value: float) -> float:
        """Pixel coordinate along this axis of a data value (via the linked view: exact under zoom)."""
        view = self.linkedView()
        if view is None:
            return 0.0
        point = QPointF(value, 0) if self.orientation in ("top", "bottom") else QPointF(0, value)
        local = self.mapFromScene(view.mapViewToScene(point))
        return local.x() if self.orientation in ("top", "bottom") else local.y()

    def drawPicture(self, p: QPainter, axisSpec, tickSpecs, textSpecs) -> None:  # noqa: N802, N803
        super().drawPicture(p, axisSpec, tickSpecs, [])
        self.drawn = []
        ticks = self.tickValues(0, 0, 0)
        if not ticks:
            return
        step, values = ticks[0]
        _lo, _hi, per_cell = self._visible()
        pitch = per_cell * step
        font = self._font(FONT_SIZES[-1])
        for points in FONT_SIZES:
            if QFontMetrics(self._font(points)).height() <= pitch + 2:
                font = self._font(points)
                break
        p.setFont(font)
        metrics = QFontMetrics(font)
        bounds = self.boundingRect()
        p.setClipRect(bounds.toAlignedRect())
        gap = self.style["tickLength"] + 3
        for value in values:
            i = int(value)
            text = short(self.labels[i])
            second = self.b_start is not None and i >= self.b_start
            p.setPen(QColor(self.colours.segment_b if second else self.colours.foreground))
            at = self._position(value)
            width, height = metrics.horizontalAdvance(text) + 2, metrics.height()
            if self.orientation == "left":
                rect = QRectF(bounds.right() - gap - width, at - height / 2, width, height)
                p.drawText(rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
            elif self.orientation == "bottom" and self.rotated:
                p.save()
                p.translate(at, bounds.top() + gap)
                p.rotate(-90)
                rect = QRectF(-width, -height / 2, width, height)
                p.drawText(rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
                p.restore()
            else:
                top = bounds.top() + gap if self.orientation == "bottom" else bounds.bottom() - gap - height
                rect = QRectF(at - width / 2, top, width, height)
                p.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
            self.drawn.append(self.labels[i])
