"""Bar chart of examples per class, one series or several side by side (train / validation)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

SERIES_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52")


class ClassBars(pg.PlotWidget):
    """Counts per class as bars with the class names under them; the numbers are shown on the bars."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setMinimumHeight(160)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        self.getPlotItem().showGrid(y=True, alpha=0.2)
        self.legend = self.getPlotItem().addLegend(offset=(-10, 10))
        self.series: dict[str, dict[str, int]] = {}

    def set_counts(self, counts: dict[str, int], name: str = "examples") -> None:
        self.set_series({name: counts})

    def set_series(self, series: dict[str, dict[str, int]]) -> None:
        """series: name -> {class: count}; classes are the union, in first-seen order."""
        self.series = series
        plot = self.getPlotItem()
        plot.clear()
        self.legend.clear()
        classes = list(dict.fromkeys(c for counts in series.values() for c in counts))
        n = max(1, len(series))
        width = 0.8 / n
        top = 0
        for k, (name, counts) in enumerate(series.items()):
            xs = [i - 0.4 + width * (k + 0.5) for i in range(len(classes))]
            heights = [counts.get(c, 0) for c in classes]
            top = max([top, *heights])
            bars = pg.BarGraphItem(
                x=xs, height=heights, width=width * 0.9, brush=SERIES_COLOURS[k % 4], pen=None
            )
            plot.addItem(bars)
            if n > 1:
                self.legend.addItem(bars, name)
            for x, h in zip(xs, heights, strict=True):
                label = pg.TextItem(str(h), color="#333", anchor=(0.5, 1))
                label.setPos(x, h)
                plot.addItem(label)
        short = [(i, c if len(c) <= 14 else c[:13] + "…") for i, c in enumerate(classes)]
        plot.getAxis("bottom").setTicks([short])
        plot.setXRange(-0.6, max(0, len(classes) - 1) + 0.6, padding=0)
        plot.setYRange(0, max(1, top) * 1.15, padding=0)
