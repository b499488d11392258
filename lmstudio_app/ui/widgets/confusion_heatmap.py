"""Confusion-matrix heatmap: rows are true labels, columns predicted, each cell shows its count."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget


class ConfusionHeatmap(pg.PlotWidget):
    """Cells coloured by their share of the true class (so small classes stay readable), counts as text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setMinimumSize(220, 220)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        plot = self.getPlotItem()
        plot.setLabel("bottom", "predicted")
        plot.setLabel("left", "true")
        plot.invertY(True)
        plot.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        # A white-to-blue ramp built in code: no colour-map data files to ship in the bundle.
        ramp = pg.ColorMap(pos=[0.0, 1.0], color=[(240, 240, 240), (33, 102, 172)])
        self.image.setLookupTable(ramp.getLookupTable(nPts=256))
        plot.addItem(self.image)
        self.matrix = np.zeros((0, 0), dtype=int)
        self.labels: list[str] = []
        self._texts: list[pg.TextItem] = []

    def set_matrix(self, matrix: list[list[int]], labels: list[str]) -> None:
        self.matrix = np.asarray(matrix, dtype=int).reshape(len(labels), len(labels))
        self.labels = list(labels)
        plot = self.getPlotItem()
        for item in self._texts:
            plot.removeItem(item)
        self._texts = []
        n = len(labels)
        if n == 0:
            self.image.clear()
            return
        totals = self.matrix.sum(axis=1, keepdims=True).clip(min=1)
        share = self.matrix / totals
        self.image.setImage(share, levels=(0, 1))
        self.image.setRect(0, 0, n, n)
        for r in range(n):
            for c in range(n):
                colour = "w" if share[r, c] > 0.55 else "#222"
                text = pg.TextItem(str(self.matrix[r, c]), color=colour, anchor=(0.5, 0.5))
                text.setPos(c + 0.5, r + 0.5)
                plot.addItem(text)
                self._texts.append(text)
        ticks = [[(i + 0.5, name if len(name) <= 12 else name[:11] + "…") for i, name in enumerate(labels)]]
        plot.getAxis("bottom").setTicks(ticks)
        plot.getAxis("left").setTicks(ticks)
        plot.setRange(xRange=(0, n), yRange=(0, n), padding=0.02)
