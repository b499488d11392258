"""Horizontal probability bars for a ranked list of candidate words, best on top; click a bar to pick it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget


class CandidateBars(pg.PlotWidget):
    """Bars of probabilities labelled with their words; `picked(index)` when the user clicks a bar."""

    picked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.plotItem.setMenuEnabled(False)
        self.plotItem.hideButtons()
        self.plotItem.setMouseEnabled(x=False, y=False)
        self.plotItem.setLabel("bottom", "probability")
        self.plotItem.getAxis("bottom").enableAutoSIPrefix(False)
        self.bars: pg.BarGraphItem | None = None
        self.words: list[str] = []
        self.values = np.zeros(0)
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_candidates(self, words: list[str], values: list[float]) -> None:
        self.words, self.values = list(words), np.asarray(values, dtype=float)
        if self.bars is not None:
            self.plotItem.removeItem(self.bars)
        n = len(self.words)
        rows = np.arange(n)[::-1].astype(float)  # best candidate on top
        self.bars = pg.BarGraphItem(
            x0=0, y=rows, height=0.7, width=self.values, brush=pg.mkBrush(49, 130, 189)
        )
        self.plotItem.addItem(self.bars)
        self.plotItem.getAxis("left").setTicks(
            [[(float(r), w) for r, w in zip(rows, self.words, strict=True)]]
        )
        top = float(self.values.max()) if n else 1.0
        self.plotItem.setRange(xRange=(0, top or 1.0), yRange=(-0.5, max(n, 1) - 0.5), padding=0.02)

    def _clicked(self, event: object) -> None:
        pos = event.scenePos()  # type: ignore[attr-defined]
        if not len(self.words) or not self.plotItem.sceneBoundingRect().contains(pos):
            return
        row = round(self.plotItem.vb.mapSceneToView(pos).y())
        index = len(self.words) - 1 - row
        if 0 <= index < len(self.words):
            self.picked.emit(index)
