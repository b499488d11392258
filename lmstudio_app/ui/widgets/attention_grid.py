"""Overview of every head: a layers x heads grid of small attention maps, drawn as one image.

Cells may be rectangles (cross-attention: decoder rows x encoder columns); NaN weights are masked cells
(a causal model's later positions) and are hatched, never drawn as a zero weight.

One image for all cells (rather than one plot per head) keeps drawing a 6 x 12 grid of 128-token maps
to a few milliseconds. Each cell is scaled to its own maximum so that weak heads still show their
pattern (the colour bar says so); hovering reads out the true weight and clicking a cell selects that
head. Short inputs are upsampled so the one-pixel separators stay thin beside the cells, and the grid
fills its view (cells may be up to 2:1 rectangles) instead of leaving empty bands.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QTimer, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QWidget

from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.plot_theme import PlotColours, colormap, colours, lookup_table, register, style_plot
from lmstudio_app.ui.widgets.masked import HatchItem

MAX_CELL = 128  # pixels per cell side; longer inputs are averaged down in the overview only
MIN_CELL = 48  # short inputs are repeated up to this, so a 1-pixel gap is a thin line, not a band
GAP = 1
WEIGHT_TOP = 253  # colour indices 0..253 are weights; then masked (see-through to a HatchItem), the gaps
MASKED_INDEX, GAP_INDEX = 254, 255
MAX_STRETCH = 2.0  # a cell may be this much wider than tall (or taller than wide) to fill the view


def _pool_axis(weights: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Block means along `axis` down to at most `size` entries; NaN (masked) entries are left out of a block's
    mean, and a block of masked entries only stays masked."""
    axis %= weights.ndim
    n = weights.shape[axis]
    factor = math.ceil(n / size)
    if factor <= 1:
        return weights
    m = math.ceil(n / factor) * factor
    pad = [(0, 0)] * weights.ndim
    pad[axis] = (0, m - n)
    padded = np.pad(weights, pad, constant_values=np.nan)
    blocks = padded.reshape(*weights.shape[:axis], m // factor, factor, *weights.shape[axis + 1 :])
    seen = (~np.isnan(blocks)).sum(axis=axis + 1)
    total = np.nansum(blocks, axis=axis + 1)
    return np.divide(total, seen, out=np.full(total.shape, np.nan, np.float32), where=seen > 0)


def grid_lookup_table(c: PlotColours | None = None) -> np.ndarray:
    """RGBA: the weights colour map on indices 0..WEIGHT_TOP, a transparent masked index (the grid's hatch
    shows through it), then the gaps between cells."""
    c = c or colours()
    lut = lookup_table("weights", c)[np.linspace(0, 255, WEIGHT_TOP + 1).round().astype(int)]
    gap = pg.mkColor(c.muted)
    extra = np.array([[0, 0, 0, 0], [gap.red(), gap.green(), gap.blue(), 255]], dtype=np.uint8)
    opaque = np.hstack([lut, np.full((len(lut), 1), 255, dtype=np.uint8)])
    return np.vstack([opaque, extra])


def mosaic(weights: np.ndarray, per_cell_max: bool = True) -> tuple[np.ndarray, tuple[int, int]]:
    """(layers, heads, n, m) weights -> (uint8 colour-index image of the grid, cell (height, width) in pixels).

    Indices instead of RGB let Qt draw an 8-bit indexed image with a colour table, which keeps the
    whole grid to a few milliseconds. NaN (masked) pixels get the see-through masked index.
    """
    cells = np.asarray(weights, dtype=np.float32)
    cells = _pool_axis(_pool_axis(cells, MAX_CELL, -1), MAX_CELL, -2)
    for axis in (-1, -2):
        repeat = math.ceil(MIN_CELL / max(cells.shape[axis], 1))
        if repeat > 1:
            cells = cells.repeat(repeat, axis=axis)
    layers, heads, rows, cols = cells.shape
    masked = np.isnan(cells)
    values = np.where(masked, np.float32(0), cells)
    if per_cell_max:
        top = values.max(axis=(-2, -1), keepdims=True)
        scale = np.divide(float(WEIGHT_TOP), top, out=np.zeros_like(top), where=top > 0)
    else:
        scale = np.float32(WEIGHT_TOP)
    index = np.minimum(values * scale + 0.5, WEIGHT_TOP).astype(np.uint8)
    index[masked] = MASKED_INDEX
    padded = np.full((layers, rows + GAP, heads, cols + GAP), GAP_INDEX, dtype=np.uint8)
    padded[:, :rows, :, :cols] = index.transpose(0, 2, 1, 3)
    image = padded.reshape(layers * (rows + GAP), heads * (cols + GAP))[:-GAP, :-GAP]
    return np.ascontiguousarray(image), (rows, cols)


class AttentionGrid(pg.GraphicsLayoutWidget):
    """Layers as rows, heads as columns; `cells` lists each head's rectangle in plot coordinates."""

    hovered = Signal(str)
    cell_clicked = Signal(int, int)  # layer, head

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, border=False)
        self.plot = self.addPlot(row=0, col=0)
        self.plot.showAxis("top")
        self.plot.hideAxis("bottom")
        self.plot.setLabel("left", "layer")
        self.plot.setLabel("top", "head")
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.hatch = HatchItem()  # under the image: seen through its masked cells only
        self.hatch.hide()
        self.plot.addItem(self.hatch)
        self.marker = pg.QtWidgets.QGraphicsRectItem()
        self.marker.setZValue(10)
        self.marker.hide()
        self.plot.addItem(self.marker)
        self.colorbar = pg.ColorBarItem(
            values=(0.0, 100.0),
            label="weight (% of that head's maximum)",
            interactive=False,
            colorMapMenu=False,
            width=12,
        )
        self.addItem(self.colorbar, row=0, col=1)
        self._lut = grid_lookup_table()
        self.weights = np.zeros((0, 0, 0, 0), dtype=np.float32)
        self.row_tokens: list[str] = []
        self.col_tokens: list[str] = []
        self.cells: list[tuple[int, int, QRectF]] = []
        self.side = (0, 0)  # a cell's (height, width) in image pixels
        self.masked_text = "masked"
        self.readout = ""
        self._user_zoomed = False
        # A bound method, not a lambda holding `self`: such a closure keeps a parentless grid alive through
        # C++ and frees it again while Qt deletes it at exit (SIGSEGV after `attention -o x.png`).
        self.plot.vb.sigRangeChangedManually.connect(self._zoomed_by_user)
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.scene().sigMouseClicked.connect(self._mouse_clicked)
        register(self)

    def apply_plot_theme(self, c: PlotColours) -> None:
        self.setBackground(c.background)
        style_plot(self.plot, c)
        style_plot(self.colorbar, c)
        self.colorbar.setColorMap(colormap("weights", c))
        self.marker.setPen(QPen(QColor(c.accent), 0))
        self._lut = grid_lookup_table(c)
        self.hatch.set_colours(c)
        if self.image.image is not None:
            self.image.setLookupTable(self._lut)

    def set_weights(
        self, weights: np.ndarray, rows: list[str], cols: list[str] | None = None, per_cell_max: bool = True
    ) -> None:
        """Draw (layers, heads, n, n) weights; rows/cols are the token labels used in the hover readout."""
        self.weights = np.asarray(weights, dtype=np.float32)
        self.row_tokens, self.col_tokens = list(rows), list(cols if cols is not None else rows)
        layers, heads = self.weights.shape[:2]
        if self.weights.size == 0:
            self.image.clear()
            self.cells = []
            return
        image, (height, width) = mosaic(self.weights, per_cell_max)
        self.side = (height, width)
        self.image.setImage(image, autoLevels=False, levels=(0, 255), lut=self._lut)
        self.image.setRect(QRectF(0, 0, image.shape[1], image.shape[0]))
        self.hatch.setRect(QRectF(0, 0, image.shape[1], image.shape[0]))
        self.hatch.setVisible(bool((image == MASKED_INDEX).any()))
        self.cells = [
            (layer, head, QRectF(head * (width + GAP), layer * (height + GAP), width, height))
            for layer in range(layers)
            for head in range(heads)
        ]
        left = [(i * (height + GAP) + height / 2, str(i)) for i in range(layers)]
        self.plot.getAxis("left").setTicks([left])
        self.plot.getAxis("top").setTicks([[(i * (width + GAP) + width / 2, str(i)) for i in range(heads)]])
        self._user_zoomed = False
        self.fit()
        self.marker.hide()

    def fit(self) -> None:
        """Show the whole grid filling the view; cells stay within MAX_STRETCH of square."""
        if self.image.image is None:
            return
        height, width = self.image.image.shape[:2]
        view = self.plot.vb.size()
        if view.width() <= 1 or view.height() <= 1:
            return
        sx, sy = width / view.width(), height / view.height()  # data units per pixel to fill exactly
        sx, sy = max(sx, sy / MAX_STRETCH), max(sy, sx / MAX_STRETCH)
        cx, cy = width / 2, height / 2
        half_w, half_h = view.width() * sx * 1.02 / 2, view.height() * sy * 1.02 / 2
        self.plot.vb.setRange(xRange=(cx - half_w, cx + half_w), yRange=(cy - half_h, cy + half_h), padding=0)

    def _zoomed_by_user(self, *_: object) -> None:
        self._user_zoomed = True

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if not getattr(self, "_user_zoomed", True):  # pyqtgraph calls this from its own __init__
            QTimer.singleShot(0, self, self.fit)  # after the layout has given the plot its new size

    def select(self, layer: int, head: int) -> None:
        for cell_layer, cell_head, rect in self.cells:
            if (cell_layer, cell_head) == (layer, head):
                self.marker.setRect(rect.adjusted(-1, -1, 1, 1))
                self.marker.show()
                return

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int, int, int] | None:
        """(layer, head, query, key) under a scene position, or None between cells."""
        if not self.cells or not self.plot.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.plot.vb.mapSceneToView(scene_pos)
        height, width = self.side
        layer, head = math.floor(p.y() / (height + GAP)), math.floor(p.x() / (width + GAP))
        dy, dx = p.y() - layer * (height + GAP), p.x() - head * (width + GAP)
        layers, heads, n, m = self.weights.shape
        if not (0 <= layer < layers and 0 <= head < heads and 0 <= dy < height and 0 <= dx < width):
            return None
        return layer, head, min(n - 1, int(dy * n / height)), min(m - 1, int(dx * m / width))

    def _mouse_moved(self, pos: QPointF) -> None:
        hit = self.cell_at(pos)
        if hit is None:
            self.readout = ""
        else:
            layer, head, q, k = hit
            weight = float(self.weights[layer, head, q, k])
            query, key = self.row_tokens[q], self.col_tokens[k]
            self.readout = (
                f"layer {layer}, head {head}: query “{query}” → key “{key}”: {self.masked_text}"
                if math.isnan(weight)
                else f"layer {layer}, head {head}: query “{query}” gives {fmt.percent(weight)} of its attention "
                f"to key “{key}”"
            )
        self.setToolTip(self.readout)
        self.hovered.emit(self.readout)

    def _mouse_clicked(self, event) -> None:
        if event.double():  # double-click: back to the whole grid after zooming in
            self._user_zoomed = False
            self.fit()
            return
        hit = self.cell_at(event.scenePos())
        if hit is not None:
            self.select(hit[0], hit[1])
            self.cell_clicked.emit(hit[0], hit[1])
