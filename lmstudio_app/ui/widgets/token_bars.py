"""One bar per token (e.g. rollout share of a chosen token, or one head's scores), tokens on the x axis."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QWidget

from lmstudio_app.ui.widgets.heatmap import TokenAxis


class TokenBars(pg.GraphicsLayoutWidget):
    """Bars of `values` over `tokens`; the highlighted token is drawn in orange; hover reads the value."""

    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None, y_title: str = "") -> None:
        super().__init__(parent, border=False)
        self.setBackground("w")
        self.axis = TokenAxis("bottom")
        self.plot = self.addPlot(axisItems={"bottom": self.axis})
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLabel("left", y_title)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setMouseEnabled(y=False)
        self.bars: pg.BarGraphItem | None = None
        self.values = np.zeros(0)
        self.tokens: list[str] = []
        self.readout = ""
        self.scene().sigMouseMoved.connect(self._mouse_moved)

    def set_values(
        self, values: np.ndarray, tokens: list[str], highlight: int | None = None, title: str = ""
    ) -> None:
        self.values, self.tokens = np.asarray(values, dtype=float), list(tokens)
        if self.bars is not None:
            self.plot.removeItem(self.bars)
        self.axis.set_labels(self.tokens)
        self.plot.setTitle(title)
        n = len(self.values)
        brushes = [pg.mkBrush(230, 85, 13) if i == highlight else pg.mkBrush(49, 130, 189) for i in range(n)]
        self.bars = pg.BarGraphItem(
            x=np.arange(n) + 0.5, height=self.values, width=0.8, brushes=brushes, pen=None
        )
        self.plot.addItem(self.bars)
        if n:
            low, high = min(0.0, float(self.values.min())), max(0.0, float(self.values.max()))
            self.plot.setLimits(xMin=-0.5, xMax=n + 0.5)
            self.plot.setRange(xRange=(0, n), yRange=(low, high or 1.0), padding=0.02)

    def _mouse_moved(self, pos: QPointF) -> None:
        self.readout = ""
        if len(self.values) and self.plot.sceneBoundingRect().contains(pos):
            i = int(np.floor(self.plot.vb.mapSceneToView(pos).x()))
            if 0 <= i < len(self.values):
                self.readout = f"{self.tokens[i]}: {self.values[i]:.4f}"
        self.setToolTip(self.readout)
        self.hovered.emit(self.readout)
