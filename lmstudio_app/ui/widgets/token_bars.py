"""One bar per token (e.g. rollout share of a chosen token, or one head's weights), tokens on the x axis."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QWidget

from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.plot_theme import PlotColours, colours, register, style_plot
from lmstudio_app.ui.widgets.token_axis import TokenAxis


class TokenBars(pg.GraphicsLayoutWidget):
    """Bars of `values` over `tokens` (every token labelled); the highlighted one in the accent colour.

    Values are shares (0..1), shown on a percent axis; `what` words the hover ("share", "weight").
    """

    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None, y_title: str = "", what: str = "") -> None:
        super().__init__(parent, border=False)
        self.setMinimumHeight(160)  # room for the bars above the rotated token labels
        self.axis = TokenAxis("bottom")
        self.plot = self.addPlot(axisItems={"bottom": self.axis})
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLabel("left", f"{y_title} (%)" if y_title else "%")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setMouseEnabled(y=False)
        self.divider = pg.InfiniteLine(angle=90)
        self.divider.hide()
        self.plot.addItem(self.divider)
        self.what = what or y_title
        self.describe: Callable[[int, float], str] = lambda i, v: (
            f"“{self.tokens[i]}”: {self.what} {fmt.percent(v)}"
        )
        self.bars: pg.BarGraphItem | None = None
        self.values = np.zeros(0)
        self.tokens: list[str] = []
        self.highlight: int | None = None
        self.readout = ""
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        register(self)

    def apply_plot_theme(self, c: PlotColours) -> None:
        self.setBackground(c.background)
        style_plot(self.plot, c)
        self.axis.apply_colours(c)
        self.divider.setPen(pg.mkPen(c.divider, width=2))
        if self.bars is not None:
            self.bars.setOpts(brushes=self._brushes(c))

    def _brushes(self, c: PlotColours) -> list:
        return [pg.mkBrush(c.accent if i == self.highlight else c.primary) for i in range(len(self.values))]

    def set_values(
        self,
        values: np.ndarray,
        tokens: list[str],
        highlight: int | None = None,
        title: str = "",
        b_start: int | None = None,
    ) -> None:
        """Draw shares `values` (0..1); `b_start` is sentence B's first token (a divider line)."""
        self.values, self.tokens, self.highlight = np.asarray(values, dtype=float), list(tokens), highlight
        if self.bars is not None:
            self.plot.removeItem(self.bars)
        self.axis.set_labels(self.tokens, b_start)
        self.plot.setTitle(title, color=colours().foreground, size="10pt")
        self.divider.setVisible(b_start is not None)
        if b_start is not None:
            self.divider.setValue(b_start)
        n = len(self.values)
        self.bars = pg.BarGraphItem(
            x=np.arange(n) + 0.5,
            height=self.values * 100,
            width=0.8,
            brushes=self._brushes(colours()),
            pen=None,
        )
        self.plot.addItem(self.bars)
        if n:
            low, high = min(0.0, float(self.values.min())), max(0.0, float(self.values.max()))
            self.plot.setLimits(xMin=-0.5, xMax=n + 0.5)
            self.plot.setRange(xRange=(0, n), yRange=(low * 100, high * 100 or 100.0), padding=0.02)

    def _mouse_moved(self, pos: QPointF) -> None:
        self.readout = ""
        if len(self.values) and self.plot.vb.sceneBoundingRect().contains(pos):
            i = int(np.floor(self.plot.vb.mapSceneToView(pos).x()))
            if 0 <= i < len(self.values):
                self.readout = self.describe(i, float(self.values[i]))
        self.setToolTip(self.readout)
        self.hovered.emit(self.readout)
