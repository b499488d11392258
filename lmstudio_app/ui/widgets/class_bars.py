"""Bar chart of examples per class, one series or several side by side (train / validation)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from lmstudio_app.ui.plot_theme import PlotColours, colours, register, show_grid, style_view


class ClassBars(pg.PlotWidget):
    """Counts per class as bars with the class names under them; the numbers are shown on the bars.

    The legend (several series) sits above the plot area, so it never covers a bar.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(160)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        show_grid(self.getPlotItem(), y=True)
        self.legend = self.getPlotItem().addLegend(offset=(-10, 1), colCount=4)
        self.series: dict[str, dict[str, int]] = {}
        register(self)

    def apply_plot_theme(self, c: PlotColours) -> None:
        style_view(self, [self.getPlotItem()], c)
        if self.series:
            self.set_series(self.series)

    def set_counts(self, counts: dict[str, int], name: str = "examples") -> None:
        self.set_series({name: counts})

    def set_series(self, series: dict[str, dict[str, int]]) -> None:
        """series: name -> {class: count}; classes are the union, in first-seen order."""
        self.series = series
        c = colours()
        plot = self.getPlotItem()
        plot.clear()
        self.legend.clear()
        classes = list(dict.fromkeys(k for counts in series.values() for k in counts))
        n = max(1, len(series))
        width = 0.8 / n
        top = 0
        for k, (name, counts) in enumerate(series.items()):
            xs = [i - 0.4 + width * (k + 0.5) for i in range(len(classes))]
            heights = [counts.get(cls, 0) for cls in classes]
            top = max([top, *heights])
            colour = c.series[k % len(c.series)]
            bars = pg.BarGraphItem(x=xs, height=heights, width=width * 0.9, brush=colour, pen=None)
            plot.addItem(bars)
            if n > 1:
                self.legend.addItem(bars, name)
            for x, h in zip(xs, heights, strict=True):
                label = pg.TextItem(str(h), color=c.foreground, anchor=(0.5, 1))
                label.setPos(x, h)
                plot.addItem(label)
        short = [(i, cls if len(cls) <= 14 else cls[:13] + "…") for i, cls in enumerate(classes)]
        plot.getAxis("bottom").setTicks([short])
        plot.setXRange(-0.6, max(0, len(classes) - 1) + 0.6, padding=0)
        # headroom above the tallest bar for its number and, with several series, the legend
        plot.setYRange(0, max(1, top) * (1.45 if n > 1 else 1.15), padding=0)
