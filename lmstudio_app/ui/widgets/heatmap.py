"""A zoomable heatmap: every token labelled on both axes, a colour bar with its unit, hover readouts.

Themed through ui/plot_theme.py (background, text and colour map follow light/dark); sentence pairs
get a divider line at sentence B and B's labels in the segment colour.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QGraphicsView, QWidget

from lmstudio_app.core.jsonio import OutputError, write_bytes
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.plot_theme import PlotColours, colormap, lookup_table, register, style_plot
from lmstudio_app.ui.widgets.masked import HatchItem
from lmstudio_app.ui.widgets.token_axis import TokenAxis


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
    """matrix[row, col] as coloured cells; rows top to bottom, labels on the left and bottom axes.

    `unit` names what the colour means (on the colour bar, in percent when `percent`, as the readouts
    are); `hover(row, col, value)` words the readout, by default "row → col: value". NaN cells are masked
    (hatched, see widgets/masked.py) and read out as "row → col: `masked_text`".
    """

    hovered = Signal(str)  # a readout of the cell under the mouse, "" when outside
    cell_clicked = Signal(int, int)

    def __init__(
        self,
        parent: QWidget | None = None,
        colormap: str = "weights",
        unit: str = "attention weight",
        percent: bool = True,
    ) -> None:
        super().__init__(parent, border=False)
        self.left_axis = TokenAxis("left")
        self.bottom_axis = TokenAxis("bottom")
        self.plot = self.addPlot(row=0, col=0, axisItems={"left": self.left_axis, "bottom": self.bottom_axis})
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.hatch = HatchItem()
        self.hatch.hide()
        self.plot.addItem(self.hatch)
        self.masked_text = "masked"
        self.colorbar = pg.ColorBarItem(
            values=(0.0, 1.0),
            label=f"{unit} (%)" if percent else unit,
            interactive=False,
            colorMapMenu=False,
            width=12,
        )
        self.bar_scale = 100.0 if percent else 1.0
        self.addItem(self.colorbar, row=0, col=1)
        self.dividers = [pg.InfiniteLine(angle=90), pg.InfiniteLine(angle=0)]
        for line in self.dividers:
            line.setZValue(5)
            line.hide()
            self.plot.addItem(line)
        self.colormap = colormap
        self.unit = unit
        self.matrix = np.zeros((0, 0), dtype=np.float32)
        self.rows: list[str] = []
        self.cols: list[str] = []
        self.value_text: Callable[[float], str] = fmt.percent if percent else fmt.signed
        self.hover: Callable[[int, int, float], str] | None = None
        self.levels: tuple[float, float] = (0.0, 1.0)
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.scene().sigMouseClicked.connect(self._mouse_clicked)
        self.readout = ""
        register(self)

    def apply_plot_theme(self, c: PlotColours) -> None:
        self.setBackground(c.background)
        style_plot(self.plot, c)
        style_plot(self.colorbar, c)
        for axis in (self.left_axis, self.bottom_axis):
            axis.apply_colours(c)
        for line in self.dividers:
            line.setPen(pg.mkPen(c.divider, width=2))
        self.colorbar.setColorMap(colormap(self.colormap, c))
        self.hatch.set_colours(c)
        if self.matrix.size:
            self.image.setLookupTable(lookup_table(self.colormap, c))

    def set_matrix(
        self,
        matrix: np.ndarray,
        rows: list[str],
        cols: list[str],
        *,
        levels: tuple[float, float] | None = None,
        row_title: str = "",
        col_title: str = "",
        row_b_start: int | None = None,
        col_b_start: int | None = None,
    ) -> None:
        """Show `matrix`; `levels` default to [0, max] (or symmetric around 0 for the diverging map).

        `row_b_start`/`col_b_start`: the first row/column of sentence B, marked by a divider line.
        """
        m = np.asarray(matrix, dtype=np.float32)
        self.matrix, self.rows, self.cols = m, list(rows), list(cols)
        self.plot.setLabel("left", row_title)
        self.plot.setLabel("bottom", col_title)
        self.left_axis.set_labels(self.rows, row_b_start)
        self.bottom_axis.set_labels(self.cols, col_b_start)
        for line, at in zip(self.dividers, (col_b_start, row_b_start), strict=True):
            line.setVisible(at is not None and m.size > 0)
            if at is not None:
                line.setValue(at)
        masked = bool(np.isnan(m).any())
        self.hatch.setVisible(masked and m.size > 0)
        if m.size == 0:
            self.image.clear()
            self.colorbar.hide()
            return
        if levels is None:
            top = float(np.nanmax(np.abs(m))) if not np.isnan(m).all() else 0.0
            top = top or 1.0
            levels = (-top, top) if self.colormap == "diverging" else (0.0, top)
        self.levels = levels
        self.colorbar.show()
        self.colorbar.setLevels((levels[0] * self.bar_scale, levels[1] * self.bar_scale))
        self.image.setImage(m, levels=levels, lut=lookup_table(self.colormap), autoLevels=False)
        self.image.setRect(QRectF(0, 0, m.shape[1], m.shape[0]))
        self.hatch.setRect(QRectF(0, 0, m.shape[1], m.shape[0]))
        self.plot.setLimits(xMin=-1.5, xMax=m.shape[1] + 0.5, yMin=-0.5, yMax=m.shape[0] + 0.5)
        self.plot.setRange(xRange=(0, m.shape[1]), yRange=(0, m.shape[0]), padding=0.01)

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        if self.matrix.size == 0 or not self.plot.vb.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.plot.vb.mapSceneToView(scene_pos)
        row, col = math.floor(point.y()), math.floor(point.x())
        if 0 <= row < self.matrix.shape[0] and 0 <= col < self.matrix.shape[1]:
            return row, col
        return None

    def describe(self, row: int, col: int) -> str:
        value = float(self.matrix[row, col])
        if math.isnan(value):
            return f"{self.rows[row]} → {self.cols[col]}: {self.masked_text}"
        if self.hover is not None:
            return self.hover(row, col, value)
        return f"{self.rows[row]} → {self.cols[col]}: {self.value_text(value)}"

    def _mouse_moved(self, pos: QPointF) -> None:
        cell = self.cell_at(pos)
        self.readout = self.describe(*cell) if cell else ""
        self.setToolTip(self.readout)
        self.hovered.emit(self.readout)

    def _mouse_clicked(self, event) -> None:
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            self.cell_clicked.emit(*cell)
