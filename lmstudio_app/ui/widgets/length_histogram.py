"""Histogram of token lengths with a draggable line at the chosen max length."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from lmstudio_app.ui.plot_theme import PlotColours, register, style_view


class LengthHistogram(pg.PlotWidget):
    """Shows how many texts a max length would truncate; dragging the line picks a new max length."""

    max_length_dragged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(140)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        plot = self.getPlotItem()
        plot.setLabel("bottom", "tokens per example")
        plot.setLabel("left", "examples")
        self.lengths: list[int] = []
        self.bars = pg.BarGraphItem(x=[], height=[], width=1, pen=None)
        plot.addItem(self.bars)
        self.line = pg.InfiniteLine(pos=128, angle=90, movable=True)
        self.line.sigPositionChangeFinished.connect(
            lambda line: self.max_length_dragged.emit(int(round(line.value())))
        )
        plot.addItem(self.line)
        register(self)

    def apply_plot_theme(self, c: PlotColours) -> None:
        style_view(self, [self.getPlotItem()], c)
        self.bars.setOpts(brush=pg.mkBrush(c.primary))
        self.line.setPen(pg.mkPen(c.accent, width=2))

    def set_lengths(self, lengths: list[int]) -> None:
        self.lengths = list(lengths)
        if not self.lengths:
            self.bars.setOpts(x=[], height=[])
            return
        top = max(self.lengths)
        edges = np.histogram_bin_edges(self.lengths, bins=min(40, max(1, top)))
        counts, edges = np.histogram(self.lengths, bins=edges)
        self.bars.setOpts(x=(edges[:-1] + edges[1:]) / 2, height=counts, width=(edges[1] - edges[0]) * 0.95)
        self.getPlotItem().setXRange(0, max(top, self.line.value()) * 1.05, padding=0)

    def set_max_length(self, value: int) -> None:
        self.line.setValue(value)
        if self.lengths:
            self.getPlotItem().setXRange(0, max(max(self.lengths), value) * 1.05, padding=0)

    def truncated(self, max_length: int) -> int:
        """How many of the measured examples are longer than `max_length`."""
        return sum(1 for n in self.lengths if n > max_length)
