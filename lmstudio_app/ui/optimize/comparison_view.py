"""The comparison of an optimize run: a table of every variant and a bar chart of one figure beside it."""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.optimize.report import COLUMNS, Comparison, cell
from lmstudio_app.ui.plot_theme import PlotColours, colours, register, show_grid, style_view

# What the chart can show: (key, name in the combo, unit on the axis, format of the numbers on the bars)
CHARTS = (
    ("latency_ms_p50", "latency p50 at batch 1 (lower is better)", "ms", "{:.2f}"),
    ("latency_ms_p95", "latency p95 at batch 1 (lower is better)", "ms", "{:.2f}"),
    ("throughput_batch32", "throughput at batch 32 (higher is better)", "texts/s", "{:.0f}"),
    ("size_mb", "size on disk (lower is better)", "MB", "{:.1f}"),
    ("peak_memory_mb", "peak memory added (lower is better)", "MB", "{:.0f}"),
    ("accuracy", "accuracy on the rows (higher is better)", "accuracy", "{:.3f}"),
    ("agreement", "agreement with the original (higher is better)", "agreement", "{:.3f}"),
)


class ValueBars(pg.PlotWidget):
    """One bar per variant with its value written on it; the variants' names under the bars."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(260, 180)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        show_grid(self.getPlotItem(), y=True)
        self.values: dict[str, float] = {}
        self.label, self.form = "", "{:.2f}"
        register(self)

    def apply_plot_theme(self, c: PlotColours) -> None:
        style_view(self, [self.getPlotItem()], c)
        self.set_values(self.values, self.label, self.form)

    def set_values(self, values: dict[str, float], label: str, form: str) -> None:
        self.values, self.label, self.form = values, label, form
        c = colours()
        plot = self.getPlotItem()
        plot.clear()
        names = list(values)
        heights = [values[n] for n in names]
        brushes = [c.primary if i == 0 else c.series[i % len(c.series)] for i in range(len(names))]
        plot.addItem(
            pg.BarGraphItem(x=list(range(len(names))), height=heights, width=0.6, brushes=brushes, pen=None)
        )
        for x, h in enumerate(heights):
            text = pg.TextItem(form.format(h), color=c.foreground, anchor=(0.5, 1))
            text.setPos(x, h)
            plot.addItem(text)
        plot.getAxis("bottom").setTicks([list(enumerate(n if len(n) <= 16 else n[:15] + "…" for n in names))])
        plot.setLabel("left", label, color=c.foreground)
        plot.setXRange(-0.6, max(0, len(names) - 1) + 0.6, padding=0)
        plot.setYRange(0, max([1e-9, *heights]) * 1.18, padding=0)  # headroom for the numbers on the bars


class ComparisonView(QWidget):
    """Set with `set_comparison(Comparison)`; the chart's figure is picked in the combo above it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison: Comparison | None = None
        self.summary = QLabel(wordWrap=True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        headers = ["Variant", "Runtime", *(h for _, h, _ in COLUMNS)]
        self.table = QTableWidget(0, len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.metric = QComboBox()
        for key, name, _, _ in CHARTS:
            self.metric.addItem(name, key)
        self.metric.setToolTip("The figure the bar chart shows")
        self.metric.currentIndexChanged.connect(self._draw)
        self.bars = ValueBars()
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Chart:"))
        pick.addWidget(self.metric)
        pick.addStretch(1)
        layout = QVBoxLayout(self)  # the table is a few rows: the chart gets the height below it
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addLayout(pick)
        layout.addWidget(self.bars, 1)

    def set_comparison(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.table.setRowCount(len(comparison.variants))
        for r, variant in enumerate(comparison.variants):
            cells = [variant.name, variant.runtime, *(cell(getattr(variant, k), f) for k, _, f in COLUMNS)]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(variant.path or "not kept")
                self.table.setItem(r, c, item)
        self.summary.setText(_summary(comparison))
        self.table.resizeRowsToContents()
        rows = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        scroll = self.table.horizontalScrollBar().sizeHint().height()  # room for it when the window is narrow
        self.table.setFixedHeight(
            self.table.horizontalHeader().height() + rows + 2 * self.table.frameWidth() + scroll
        )
        self._draw()

    def _draw(self) -> None:
        if self.comparison is None:
            return
        key, _, label, form = CHARTS[max(0, self.metric.currentIndex())]
        values = {v.name: getattr(v, key) for v in self.comparison.variants if getattr(v, key) is not None}
        self.bars.set_values(values, label, form)

    def shown_values(self) -> dict[str, float]:
        """What the chart shows now (variant -> value)."""
        return dict(self.bars.values)


def _summary(comparison: Comparison) -> str:
    threads = f"{comparison.threads} thread" + ("s" if comparison.threads > 1 else "")
    lines = [
        f"Measured side by side on this machine: {comparison.rows:,} {html.escape(comparison.rows_source)}, "
        f"latency at batch 1 on {threads}. Optimized folder: {html.escape(comparison.out_dir)}"
    ]
    for name in ("onnx-int8", "onnx-fp32"):
        speedup = comparison.speedup(name)
        if speedup is not None:
            lines.append(f"<b>{name}</b> is {speedup:.1f}x as fast as the original at batch 1.")
            break
    lines += [f"Note: {html.escape(note)}" for note in comparison.notes]
    return "<br>".join(lines)
