"""Positions: learned position embeddings beside the fixed sine/cosine encoding, and a word-order experiment."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.inside.positions import (
    DEFAULT_POSITIONS,
    PositionMap,
    Positions,
    WordOrder,
    positions,
    word_order,
)
from lmstudio_app.core.models.registry import HEAD_CLS, HEAD_MLM
from lmstudio_app.ui.inside.common import (
    InsideView,
    compare_headers,
    compare_rows,
    fill_table,
    formula,
    table,
    themed,
)
from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.theme import message_html
from lmstudio_app.ui.widgets.heatmap import Heatmap

_POSITION_COLOURS = pg.colormap.get("viridis")


class PositionsFigure(QWidget):
    """Two columns (the model's table, the sine/cosine encoding): cosine-similarity map over PCA scatter."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.maps = [
            themed(Heatmap(colormap="diverging", unit="cosine similarity", percent=False)) for _ in range(2)
        ]
        self.scatters = [themed(pg.PlotWidget()), themed(pg.PlotWidget())]
        for column, (heat, scatter) in enumerate(zip(self.maps, self.scatters, strict=True)):
            heat.value_format = "{:+.3f}"
            scatter.plotItem.setMenuEnabled(False)
            scatter.plotItem.hideButtons()
            scatter.setLabel("bottom", "PC 1")
            scatter.setLabel("left", "PC 2")
            for side in ("left", "bottom"):
                scatter.getAxis(side).enableAutoSIPrefix(False)
            grid.addWidget(heat, 0, column)
            grid.addWidget(scatter, 1, column)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)

    def set_positions(self, result: Positions) -> None:
        for heat, scatter, pm in zip(
            self.maps, self.scatters, (result.model_map, result.fixed_map), strict=True
        ):
            self._draw(heat, scatter, pm)

    @staticmethod
    def _draw(heat: Heatmap, scatter: pg.PlotWidget, pm: PositionMap) -> None:
        n = pm.cosine.shape[0]
        labels = [str(i) for i in range(n)]
        heat.set_matrix(
            pm.cosine, labels, labels, levels=(-1.0, 1.0), row_title="position", col_title="position"
        )
        heat.plot.setTitle(f"{pm.title}: cosine similarity")
        scatter.clear()
        xs, ys = pm.components[:, 0], pm.components[:, 1]
        colours = [_POSITION_COLOURS.map(i / max(n - 1, 1)) for i in range(n)]
        scatter.plot(xs, ys, pen=pg.mkPen((150, 150, 150), width=1))
        scatter.addItem(pg.ScatterPlotItem(xs, ys, size=7, brush=colours, pen=None))
        step = max(1, n // 12)
        for i in range(0, n, step):
            label = pg.TextItem(str(i), color=pg.getConfigOption("foreground"), anchor=(0, 1))
            label.setPos(float(xs[i]), float(ys[i]))
            scatter.addItem(label, ignoreBounds=True)
        scatter.setXRange(float(xs.min()), float(xs.max()), padding=0.08)
        scatter.setYRange(float(ys.min()), float(ys.max()), padding=0.12)
        scatter.setTitle(
            f"PCA: {pm.explained[0]:.0%} + {pm.explained[1]:.0%} of the variance; colour = position"
        )


class PositionsView(InsideView):
    title = "Positions"

    def __init__(self, panel: Any) -> None:
        super().__init__(panel)
        self.order: WordOrder | None = None
        self.seed = 0
        self._order_latest = LatestOnly(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Positions shown"))
        self.count = QSpinBox(minimum=2, maximum=512, value=DEFAULT_POSITIONS)
        self.count.editingFinished.connect(lambda: self.result is not None and self.run())
        row.addWidget(self.count)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.layout_.addWidget(
            formula(
                "input = token embedding + <b>P</b>[position] &nbsp;&nbsp; learned: P is trained with the model; "
                "fixed: P[pos, 2i] = sin(pos / 10000<sup>2i/d</sup>), P[pos, 2i+1] = cos(pos / 10000<sup>2i/d</sup>)"
                " &nbsp;&nbsp; map cell = cos(P[a], P[b]); below: P projected on its first two principal "
                "axes, position 0 purple → last yellow"
            )
        )
        self.layout_.addWidget(self.note)
        self.figure = PositionsFigure()
        bottom = QWidget()
        box = QVBoxLayout(bottom)
        box.addWidget(
            formula(
                "Word order: self-attention alone is blind to order (it permutes with its input); only P tells "
                "the model where each word is. Same words, another order:"
            )
        )
        order_row = QHBoxLayout()
        self.order_edit = QLineEdit(placeholderText="the same words in another order (empty: shuffled)")
        self.order_edit.returnPressed.connect(lambda: self.run_order(typed=True))
        self.shuffle = QPushButton("Shuffle")
        self.shuffle.clicked.connect(self._reshuffle)
        order_row.addWidget(self.order_edit, 1)
        order_row.addWidget(self.shuffle)
        box.addLayout(order_row)
        self.order_note = QLabel(wordWrap=True)
        self.order_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.order_note)
        self.compare = table(compare_headers("masks", "original order", "other order"))
        box.addWidget(self.compare, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.figure)
        split.addWidget(bottom)
        split.setSizes([560, 260])
        self.layout_.addWidget(split, 1)

    def job(self, loaded: Any, text: str, pair: str | None) -> tuple:
        return positions, (loaded, self.count.value()), {}

    def draw(self, result: Positions) -> None:
        self.figure.set_positions(result)
        self.run_order()

    def export_widget(self) -> QWidget:
        return self.figure

    def _reshuffle(self) -> None:
        self.seed += 1
        self.order_edit.clear()
        self.run_order()

    def run_order(self, typed: bool = False) -> None:
        """Predictions for both orders; a stale other order (sentence A changed) is shuffled afresh."""
        _key, text, _pair = self.panel.inputs()
        other = self.order_edit.text()
        if not typed and sorted(other.lower().split()) != sorted(text.lower().split()):
            other = ""
        loaded = self.panel.current_model()
        if loaded is None:
            return
        missing = self.panel.missing_head(loaded, (HEAD_MLM, HEAD_CLS), "the word-order experiment")
        if missing:
            self.order_note.setText(missing)
            self.compare.setRowCount(0)
            return
        worker = self._order_latest.submit(word_order, loaded, text, other, seed=self.seed)
        worker.result.connect(self._order_ready)
        worker.error.connect(lambda message, _tb: self.order_note.setText(message_html("error", message)))
        worker.start()

    def _order_ready(self, order: WordOrder) -> None:
        self.order = order
        self.order_edit.setText(order.reordered)
        self.order_note.setText(f"Original: “{order.original}”  →  other order: “{order.reordered}”")
        kind = order.before.kind
        headers = compare_headers(kind, "original order", "other order")
        self.compare.setColumnCount(len(headers))
        self.compare.setHorizontalHeaderLabels(headers)
        fill_table(self.compare, compare_rows(order.before, order.after))
        changed = order.before.slots[0][0][0] != order.after.slots[0][0][0]
        verdict = (
            "the top prediction changes" if changed else "the top prediction stays, its probability moves"
        )
        self.order_note.setText(self.order_note.text() + f": {verdict}.")

    def numbers(self) -> dict[str, Any]:
        out = self.result.to_json()
        if self.order is not None:
            out["word_order"] = self.order.to_json()
        return out

    def cancel(self) -> None:
        super().cancel()
        self._order_latest.cancel()
