"""Confusion-matrix heatmap: rows are true labels, columns predicted, each cell shows its count."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from lmstudio_app.ui.plot_theme import PlotColours, colormap, lookup_table, register, style_plot, text_on


class ConfusionHeatmap(pg.GraphicsLayoutWidget):
    """Cells coloured by their share of the true class (so small classes stay readable), counts as text.

    The colour bar says what the colour is (% of the true class); each count is written in black or
    white, whichever reads on its cell in the current theme.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, border=False)
        self.setMinimumSize(260, 220)
        self.plot = self.addPlot(row=0, col=0)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "predicted")
        self.plot.setLabel("left", "true")
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            values=(0, 100), label="% of the true class", interactive=False, colorMapMenu=False, width=12
        )
        self.addItem(self.colorbar, row=0, col=1)
        self.matrix = np.zeros((0, 0), dtype=int)
        self.labels: list[str] = []
        self._texts: list[pg.TextItem] = []
        register(self)

    def apply_plot_theme(self, c: PlotColours) -> None:
        self.setBackground(c.background)
        style_plot(self.plot, c)
        style_plot(self.colorbar, c)
        self.colorbar.setColorMap(colormap("weights", c))
        self._lut = lookup_table("weights", c)
        self.image.setLookupTable(self._lut)
        if self.labels:
            self.set_matrix(self.matrix.tolist(), self.labels)

    def set_matrix(self, matrix: list[list[int]], labels: list[str]) -> None:
        self.matrix = np.asarray(matrix, dtype=int).reshape(len(labels), len(labels))
        self.labels = list(labels)
        for item in self._texts:
            self.plot.removeItem(item)
        self._texts = []
        n = len(labels)
        if n == 0:
            self.image.clear()
            return
        totals = self.matrix.sum(axis=1, keepdims=True).clip(min=1)
        share = self.matrix / totals
        self.image.setImage(share, levels=(0, 1), lut=self._lut)
        self.image.setRect(0, 0, n, n)
        for r in range(n):
            for col in range(n):
                cell = self._lut[min(255, int(share[r, col] * 255))]
                text = pg.TextItem(str(self.matrix[r, col]), color=text_on(cell), anchor=(0.5, 0.5))
                text.setPos(col + 0.5, r + 0.5)
                self.plot.addItem(text)
                self._texts.append(text)
        ticks = [[(i + 0.5, name if len(name) <= 12 else name[:11] + "…") for i, name in enumerate(labels)]]
        self.plot.getAxis("bottom").setTicks(ticks)
        self.plot.getAxis("left").setTicks(ticks)
        self.plot.setRange(xRange=(0, n), yRange=(0, n), padding=0.02)
