"""Horizontal probability bars for a ranked list of candidate words, best on top; click a bar to pick it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.plot_theme import PlotColours, colours, register, style_view


class CandidateBars(pg.PlotWidget):
    """Bars of probabilities (a percent axis, each bar labelled as the table is); `picked(index)` on click."""

    picked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plotItem.setMenuEnabled(False)
        self.plotItem.hideButtons()
        self.plotItem.setMouseEnabled(x=False, y=False)
        self.plotItem.setLabel("bottom", "probability (%)")
        self.plotItem.getAxis("bottom").enableAutoSIPrefix(False)
        self.bars: pg.BarGraphItem | None = None
        self.labels: list[pg.TextItem] = []
        self.words: list[str] = []
        self.values = np.zeros(0)
        self.scene().sigMouseClicked.connect(self._clicked)
        register(self)

    def apply_plot_theme(self, c: PlotColours) -> None:
        style_view(self, [self.plotItem], c)
        if self.bars is not None:
            self.bars.setOpts(brush=pg.mkBrush(c.primary))
        for label in self.labels:
            label.setColor(c.foreground)

    def set_candidates(self, words: list[str], values: list[float]) -> None:
        self.words, self.values = list(words), np.asarray(values, dtype=float)
        c = colours()
        if self.bars is not None:
            self.plotItem.removeItem(self.bars)
        for label in self.labels:
            self.plotItem.removeItem(label)
        n = len(self.words)
        rows = np.arange(n)[::-1].astype(float)  # best candidate on top
        self.bars = pg.BarGraphItem(
            x0=0, y=rows, height=0.7, width=self.values * 100, brush=pg.mkBrush(c.primary)
        )
        self.plotItem.addItem(self.bars)
        self.labels = []
        for row, value in zip(rows, self.values, strict=True):
            label = pg.TextItem(fmt.percent(float(value)), color=c.foreground, anchor=(0, 0.5))
            label.setPos(float(value) * 100, row)
            self.plotItem.addItem(label)
            self.labels.append(label)
        self.plotItem.getAxis("left").setTicks(
            [[(float(r), w) for r, w in zip(rows, self.words, strict=True)]]
        )
        top = float(self.values.max()) * 100 if n else 100.0
        # room on the right for the largest bar's label
        self.plotItem.setRange(xRange=(0, (top or 100.0) * 1.3), yRange=(-0.5, max(n, 1) - 0.5), padding=0.02)

    def _clicked(self, event: object) -> None:
        pos = event.scenePos()  # type: ignore[attr-defined]
        if not len(self.words) or not self.plotItem.sceneBoundingRect().contains(pos):
            return
        row = round(self.plotItem.vb.mapSceneToView(pos).y())
        index = len(self.words) - 1 - row
        if 0 <= index < len(self.words):
            self.picked.emit(index)
