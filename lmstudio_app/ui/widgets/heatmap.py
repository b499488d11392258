"""A zoomable heatmap with token labels on both axes, exact values on hover, and PNG/SVG export.

Token axes show as many labels as fit at the current zoom (every k-th token when zoomed out, all of
them when zoomed in), so a 512-token input stays readable instead of a wall of overlapping text.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QApplication, QGraphicsView, QWidget

from lmstudio_app.core.jsonio import OutputError, write_bytes

# 256 x 3 uint8 lookup tables: white -> deep blue for weights, blue -> white -> red for signed values.
_BLUES = pg.ColorMap([0.0, 0.35, 1.0], [(255, 255, 255), (107, 174, 214), (8, 48, 107)])
_DIVERGING = pg.ColorMap([0.0, 0.5, 1.0], [(33, 102, 172), (247, 247, 247), (178, 24, 43)])
COLORMAPS = {"weights": _BLUES, "diverging": _DIVERGING}


def lookup_table(name: str) -> np.ndarray:
    return COLORMAPS[name].getLookupTable(0.0, 1.0, 256, alpha=False).astype(np.uint8)


class TokenAxis(pg.AxisItem):
    """Axis whose ticks sit at cell centres and read the cell's label; thins out labels to fit."""

    def __init__(self, orientation: str, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.labels: list[str] = []
        self.enableAutoSIPrefix(False)

    def set_labels(self, labels: list[str]) -> None:
        self.labels = list(labels)
        if self.orientation in ("left", "right"):  # pyqtgraph sizes axes after the first paint: size it now
            font = self.style.get("tickFont") or QFont()
            widest = max(
                (QFontMetrics(font).horizontalAdvance(self._short(s)) for s in self.labels), default=10
            )
            self.setWidth(widest + 18 + (20 if self.label.isVisible() else 0))
        self.picture = None
        self.update()

    @staticmethod
    def _short(text: str) -> str:
        return text if len(text) <= 14 else text[:13] + "…"

    def tickValues(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803 (pyqtgraph's names)
        if not self.labels or size <= 0:
            return []
        minVal, maxVal = sorted((minVal, maxVal))  # noqa: N806 (an inverted axis passes them swapped)
        lo, hi = max(0, math.floor(minVal)), min(len(self.labels), math.ceil(maxVal))
        if hi <= lo:
            return []
        per_cell = size / max(maxVal - minVal, 1e-9)
        longest = max(len(s) for s in self.labels[lo:hi])
        need = 15.0 if self.orientation in ("left", "right") else 7.0 * min(longest, 12) + 8
        step = max(1, math.ceil(need / max(per_cell, 1e-9)))
        return [(float(step), [i + 0.5 for i in range(lo - lo % step, hi, step) if i >= lo])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        out = []
        for v in values:
            i = int(math.floor(v))
            out.append(self._short(self.labels[i]) if 0 <= i < len(self.labels) else "")
        return out


def render_image(widget: QWidget, size: QSize | None = None) -> QImage:
    """The widget drawn at `size` (default: its current size), without showing it on screen."""
    if size is not None:
        widget.resize(size)
    if not widget.isVisible():
        widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        widget.show()
    QApplication.processEvents()
    image = QImage(widget.size(), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    widget.render(painter)
    painter.end()
    return image


def png_bytes(image: QImage) -> bytes:
    """`image` encoded as PNG in memory, so that the file itself is written atomically (core/jsonio)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OutputError(f"cannot encode a {image.width()}x{image.height()} image as PNG")
    return bytes(data.data())


def export_png(widget: QWidget, path: Path | str, size: QSize | None = None) -> QImage:
    """Write the widget as a PNG; an unwritable path raises OutputError, a good old file stays intact."""
    image = render_image(widget, size)
    write_bytes(path, png_bytes(image))
    return image


def svg_bytes(widget: QWidget, title: str = "attention") -> bytes:
    """Vector drawing of the widget: axes and text stay sharp; heat cells are embedded as an image."""
    from PySide6.QtSvg import QSvgGenerator

    QApplication.processEvents()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(widget.size())
    generator.setViewBox(QRectF(0, 0, widget.width(), widget.height()))
    generator.setTitle(title)
    generator.setResolution(widget.logicalDpiX())  # else text and lines use 90 dpi and the image does not
    painter = QPainter(generator)
    if isinstance(widget, QGraphicsView):
        widget.render(painter)  # the scene: pyqtgraph's plots, axes included
    else:
        widget.render(painter, QPoint())  # a plain widget and its children (the Inside views)
    painter.end()
    return bytes(data.data())


def export_svg(widget: QWidget, path: Path | str, title: str = "attention") -> None:
    """Write the widget as SVG, atomically (see svg_bytes)."""
    write_bytes(path, svg_bytes(widget, title))


class Heatmap(pg.GraphicsLayoutWidget):
    """matrix[row, col] as coloured cells; rows top to bottom, labels on the left and bottom axes."""

    hovered = Signal(str)  # a readout of the cell under the mouse, "" when outside
    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None, colormap: str = "weights") -> None:
        super().__init__(parent, border=False)
        self.setBackground("w")
        self.left_axis = TokenAxis("left")
        self.bottom_axis = TokenAxis("bottom")
        self.plot = self.addPlot(axisItems={"left": self.left_axis, "bottom": self.bottom_axis})
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colormap = colormap
        self.matrix = np.zeros((0, 0), dtype=np.float32)
        self.rows: list[str] = []
        self.cols: list[str] = []
        self.value_format = "{:.4f}"
        self.levels: tuple[float, float] = (0.0, 1.0)
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.scene().sigMouseClicked.connect(self._mouse_clicked)
        self.readout = ""

    def set_matrix(
        self,
        matrix: np.ndarray,
        rows: list[str],
        cols: list[str],
        *,
        levels: tuple[float, float] | None = None,
        row_title: str = "",
        col_title: str = "",
    ) -> None:
        """Show `matrix`; `levels` default to [0, max] (or symmetric around 0 for the diverging map)."""
        m = np.asarray(matrix, dtype=np.float32)
        self.matrix, self.rows, self.cols = m, list(rows), list(cols)
        self.plot.setLabel("left", row_title)
        self.plot.setLabel("bottom", col_title)
        self.left_axis.set_labels(self.rows)
        self.bottom_axis.set_labels(self.cols)
        if m.size == 0:
            self.image.clear()
            return
        if levels is None:
            top = float(np.abs(m).max()) or 1.0
            levels = (-top, top) if self.colormap == "diverging" else (0.0, top)
        self.levels = levels
        self.image.setImage(m, levels=levels, lut=lookup_table(self.colormap), autoLevels=False)
        self.image.setRect(QRectF(0, 0, m.shape[1], m.shape[0]))
        self.plot.setLimits(xMin=-1.5, xMax=m.shape[1] + 0.5, yMin=-0.5, yMax=m.shape[0] + 0.5)
        # a little room left of the first column, so that its label is not clipped by the axis end
        self.plot.setRange(xRange=(-0.8, m.shape[1] + 0.2), yRange=(0, m.shape[0]), padding=0.01)

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        if self.matrix.size == 0 or not self.plot.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.plot.vb.mapSceneToView(scene_pos)
        row, col = math.floor(point.y()), math.floor(point.x())
        if 0 <= row < self.matrix.shape[0] and 0 <= col < self.matrix.shape[1]:
            return row, col
        return None

    def describe(self, row: int, col: int) -> str:
        value = self.value_format.format(float(self.matrix[row, col]))
        return f"{self.rows[row]} → {self.cols[col]}: {value}"

    def _mouse_moved(self, pos: QPointF) -> None:
        cell = self.cell_at(pos)
        self.readout = self.describe(*cell) if cell else ""
        self.setToolTip(self.readout)
        self.hovered.emit(self.readout)

    def _mouse_clicked(self, event) -> None:
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            self.cell_clicked.emit(*cell)
