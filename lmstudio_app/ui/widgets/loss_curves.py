"""Training curves: loss per step on the left, evaluation figures (by default validation loss / accuracy /
macro-F1; a job kind can name its own) on the right.

Feed it the training events (dicts of type "log" and "eval"); several runs can be overlaid to compare.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QWidget

SMOOTHING = 0.9  # exponential moving average of the training loss, as TensorBoard draws it
RUN_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3")
METRICS = (
    ("eval_loss", "eval loss", pg.QtCore.Qt.PenStyle.SolidLine),
    ("eval_accuracy", "accuracy", pg.QtCore.Qt.PenStyle.DashLine),
    ("eval_macro_f1", "macro-F1", pg.QtCore.Qt.PenStyle.DotLine),
)


def _plot(title: str, left: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(background="w", title=title)
    widget.setMinimumHeight(180)
    item = widget.getPlotItem()
    item.setLabel("bottom", "step")
    item.setLabel("left", left)
    item.showGrid(x=True, y=True, alpha=0.2)
    for axis in ("left", "bottom"):
        item.getAxis(axis).enableAutoSIPrefix(False)
    item.addLegend(offset=(-10, 10))
    return widget


class LossCurves(QWidget):
    """Two plots fed by training events; `add_events` appends (cheap), `set_runs` overlays whole runs."""

    def __init__(
        self, parent: QWidget | None = None, metrics: tuple = METRICS, eval_title: str = "Validation"
    ) -> None:
        super().__init__(parent)
        self.metrics = metrics  # (event key, legend label, pen style) per curve on the right
        self.loss_plot = _plot("Training loss", "loss")
        self.eval_plot = _plot(eval_title, "value")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.eval_plot, 1)
        self.data: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
        self._curves: dict[tuple[str, str], pg.PlotDataItem] = {}

    def clear(self) -> None:
        self.data.clear()
        self._curves.clear()
        for widget in (self.loss_plot, self.eval_plot):
            widget.getPlotItem().clear()
            widget.getPlotItem().legend.clear()

    def add_events(self, events: list[dict], run: str = "") -> None:
        """Append log/eval events of one run and redraw only the curves that changed."""
        series = self.data.setdefault(run, {})
        changed: set[str] = set()
        for event in events:
            kind = event.get("type")
            if kind == "log" and event.get("loss") is not None:
                step, loss = float(event["step"]), float(event["loss"])
                xs, ys = series.setdefault("loss", ([], []))
                xs.append(step)
                ys.append(loss)
                sx, sy = series.setdefault("loss_smooth", ([], []))
                sx.append(step)
                sy.append(loss if not sy else SMOOTHING * sy[-1] + (1 - SMOOTHING) * loss)
                changed.update(("loss", "loss_smooth"))
            elif kind == "eval":
                for key, _, _ in self.metrics:
                    if event.get(key) is not None:
                        xs, ys = series.setdefault(key, ([], []))
                        xs.append(float(event["step"]))
                        ys.append(float(event[key]))
                        changed.add(key)
        for key in changed:
            self._curve(run, key).setData(*series[key])

    def set_runs(self, runs: dict[str, list[dict]]) -> None:
        """Overlay whole runs (name -> events), one colour per run."""
        self.clear()
        for name, events in runs.items():
            self.add_events(events, run=name)

    def points(self, key: str, run: str = "") -> tuple[list[float], list[float]]:
        return self.data.get(run, {}).get(key, ([], []))

    def _curve(self, run: str, key: str) -> pg.PlotDataItem:
        curve = self._curves.get((run, key))
        if curve is None:
            colour_index = list(self.data).index(run)
            if key in ("loss", "loss_smooth"):
                plot, style = self.loss_plot, pg.QtCore.Qt.PenStyle.SolidLine
                name = (run or "loss (smoothed)") if key == "loss_smooth" else None
            else:
                _, label, style = next(m for m in self.metrics if m[0] == key)
                plot = self.eval_plot
                colour_index = colour_index if run else [m[0] for m in self.metrics].index(key)
                name = f"{run}: {label}" if run else label
            colour = pg.mkColor(RUN_COLOURS[colour_index % len(RUN_COLOURS)])
            if key == "loss":  # the raw per-step loss is noisy: drawn faint under its smoothed curve
                colour.setAlpha(70)
            pen = pg.mkPen(colour, width=1 if key == "loss" else 2, style=style)
            symbol = None if key.startswith("loss") else "o"
            curve = plot.getPlotItem().plot(
                [], [], pen=pen, name=name, symbol=symbol, symbolSize=5, symbolBrush=pen.color()
            )
            self._curves[(run, key)] = curve
        return curve
