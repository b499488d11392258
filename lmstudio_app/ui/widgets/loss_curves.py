"""Training curves: loss per step on the left, evaluation figures (by default validation loss / accuracy /
macro-F1; a job kind can name its own) on the right.

Feed it the training events (dicts of type "log" and "eval"); several runs can be overlaid to compare.
Each plot's legend sits in a row of its own above the plot, so it never covers a curve (an accuracy of
1.0 runs along the top edge). The smoothed loss is a centred moving average over a window that grows
with the run: unlike an exponential average it does not lag behind a falling loss.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QWidget

from lmstudio_app.ui.plot_theme import PlotColours, colours, register, show_grid, style_legend, style_plot

SMOOTH_FRACTION = 0.04  # the smoothing window: this share of the points logged so far (odd, at least 1)
METRICS = (
    ("eval_loss", "eval loss", Qt.PenStyle.SolidLine),
    ("eval_accuracy", "accuracy", Qt.PenStyle.DashLine),
    ("eval_macro_f1", "macro-F1", Qt.PenStyle.DotLine),
)


def smooth(values: list[float]) -> list[float]:
    """Centred moving average; near the ends the window shrinks to the points that exist."""
    n = len(values)
    half = int(n * SMOOTH_FRACTION) // 2
    if half == 0:
        return list(values)
    sums = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    i = np.arange(n)
    lo, hi = np.maximum(0, i - half), np.minimum(n, i + half + 1)
    return ((sums[hi] - sums[lo]) / (hi - lo)).tolist()


class CurvePlot(pg.GraphicsLayoutWidget):
    """A titled plot with its legend in the row above it."""

    def __init__(self, title: str, left: str) -> None:
        super().__init__(border=False)
        self.setMinimumHeight(180)
        self.legend = pg.LegendItem(colCount=3)
        self.addItem(self.legend, row=0, col=0)
        self.plot = self.addPlot(row=1, col=0, title=title)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", left)
        show_grid(self.plot, x=True, y=True)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)

    def style(self, c: PlotColours) -> None:
        self.setBackground(c.background)
        style_plot(self.plot, c)
        style_legend(self.legend, c)


class LossCurves(QWidget):
    """Two plots fed by training events; `add_events` appends (cheap), `set_runs` overlays whole runs."""

    def __init__(
        self, parent: QWidget | None = None, metrics: tuple = METRICS, eval_title: str = "Validation"
    ) -> None:
        super().__init__(parent)
        self.metrics = metrics  # (event key, legend label, pen style) per curve on the right
        self.loss_plot = CurvePlot("Training loss", "loss")
        self.eval_plot = CurvePlot(eval_title, "value")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.eval_plot, 1)
        self.data: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
        self._curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        register(self)

    def apply_plot_theme(self, c: PlotColours) -> None:
        for widget in (self.loss_plot, self.eval_plot):
            widget.style(c)
        for (run, key), curve in self._curves.items():
            pen = self._pen(run, key, c)
            curve.setPen(pen)
            curve.setSymbolBrush(pen.color())

    def clear(self) -> None:
        self.data.clear()
        self._curves.clear()
        for widget in (self.loss_plot, self.eval_plot):
            widget.plot.clear()
            widget.legend.clear()

    def start_run(self) -> None:
        """Empty plots with one run's curves and legend entries already in place: the first log and eval
        events then only add points, instead of re-laying out both plots while training starts."""
        self.clear()
        for key in ("loss", "loss_smooth", *(m[0] for m in self.metrics)):
            self._curve("", key)

    def add_events(self, events: list[dict], run: str = "") -> None:
        """Append log/eval events of one run and redraw only the curves that changed."""
        series = self.data.setdefault(run, {})
        changed: set[str] = set()
        for event in events:
            kind = event.get("type")
            if kind == "log" and event.get("loss") is not None:
                xs, ys = series.setdefault("loss", ([], []))
                xs.append(float(event["step"]))
                ys.append(float(event["loss"]))
                changed.add("loss")
            elif kind == "eval":
                for key, _, _ in self.metrics:
                    if event.get(key) is not None:
                        xs, ys = series.setdefault(key, ([], []))
                        xs.append(float(event["step"]))
                        ys.append(float(event[key]))
                        changed.add(key)
        if "loss" in changed:
            xs, ys = series["loss"]
            series["loss_smooth"] = (xs, smooth(ys))
            changed.add("loss_smooth")
        for key in changed:
            self._curve(run, key).setData(*series[key])

    def set_runs(self, runs: dict[str, list[dict]]) -> None:
        """Overlay whole runs (name -> events), one colour per run."""
        self.clear()
        for name, events in runs.items():
            self.add_events(events, run=name)

    def points(self, key: str, run: str = "") -> tuple[list[float], list[float]]:
        return self.data.get(run, {}).get(key, ([], []))

    def _pen(self, run: str, key: str, c: PlotColours) -> pg.QtGui.QPen:
        index = list(self.data).index(run) if run in self.data else 0
        if key not in ("loss", "loss_smooth") and not run:
            index = [m[0] for m in self.metrics].index(key)  # one run: one colour per metric
        colour = pg.mkColor(c.series[index % len(c.series)])
        if key == "loss":  # the raw per-step loss is noisy: drawn faint under its smoothed curve
            colour.setAlpha(80)
        style = next((m[2] for m in self.metrics if m[0] == key), Qt.PenStyle.SolidLine)
        return pg.mkPen(colour, width=1 if key == "loss" else 2, style=style)

    def _curve(self, run: str, key: str) -> pg.PlotDataItem:
        curve = self._curves.get((run, key))
        if curve is None:
            if key in ("loss", "loss_smooth"):
                widget = self.loss_plot
                name = (run or "loss (smoothed)") if key == "loss_smooth" else None
            else:
                label = next(m[1] for m in self.metrics if m[0] == key)
                widget = self.eval_plot
                name = f"{run}: {label}" if run else label
            pen = self._pen(run, key, colours())
            symbol = None if key.startswith("loss") else "o"
            curve = widget.plot.plot([], [], pen=pen, symbol=symbol, symbolSize=5, symbolBrush=pen.color())
            if name:
                widget.legend.addItem(curve, name)
            self._curves[(run, key)] = curve
        return curve
