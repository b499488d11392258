"""Multi-head: each head's contribution as a layer x head grid, and head ablation with live predictions."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.inside.heads import Ablation, HeadContributions, ablate, head_contributions
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


class HeadsView(InsideView):
    """MultiHead(X) = Concat(head_1..head_h)·W^O = Σ_i head_i·W^O_i: how much each head adds, and without it."""

    title = "Multi-head"

    def __init__(self, panel: Any) -> None:
        super().__init__(panel)
        self.ablation: Ablation | None = None
        self._ablation_latest = LatestOnly(self)
        self.boxes: dict[tuple[int, int], QCheckBox] = {}
        self.layout_.addWidget(
            formula(
                "MultiHead(X) = Concat(head<sub>1</sub>, …, head<sub>h</sub>)·W<sup>O</sup> = Σ<sub>i</sub> "
                "head<sub>i</sub>·W<sup>O</sup><sub>i</sub> &nbsp; (W<sup>O</sup><sub>i</sub>: the rows of "
                "W<sup>O</sup> that meet head i) &nbsp; cell = ‖head<sub>i</sub>·W<sup>O</sup><sub>i</sub>‖"
            )
        )
        self.layout_.addWidget(self.note)
        left = QWidget()
        box = QVBoxLayout(left)
        row = QHBoxLayout()
        row.addWidget(QLabel("Contribution at token:"))
        self.token_combo = QComboBox()
        self.token_combo.setMinimumContentsLength(14)
        self.token_combo.currentIndexChanged.connect(lambda _i: self._draw_grid())
        row.addWidget(self.token_combo)
        row.addStretch(1)
        box.addLayout(row)
        self.grid = themed(Heatmap(unit="contribution ‖headᵢ·W^O‖", percent=False))
        self.grid.value_format = "{:.3f}"
        self.grid.hovered.connect(lambda text: self.panel.status.setText(text) if text else None)
        self.grid.cell_clicked.connect(self._toggle)
        self.grid.setToolTip("Click a cell to switch that head off (or on again)")
        self.off_marks = pg.ScatterPlotItem(symbol="x", size=14, pen=pg.mkPen("#e74c3c", width=2), brush=None)
        self.grid.plot.addItem(self.off_marks)
        box.addWidget(self.grid, 1)

        right = QWidget()
        rbox = QVBoxLayout(right)
        rbox.addWidget(
            formula("Head ablation: tick heads <b>off</b> (head<sub>i</sub> := 0 before W<sup>O</sup>)")
        )
        self.box_page = QWidget()
        self.box_grid = QGridLayout(self.box_page)
        self.box_grid.setSpacing(2)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.box_page)
        rbox.addWidget(scroll, 1)
        buttons = QHBoxLayout()
        self.all_on = QPushButton("All heads on")
        self.all_on.clicked.connect(self._all_on)
        self.layer_off = QPushButton("Last layer off")
        self.layer_off.clicked.connect(self._last_layer_off)
        buttons.addWidget(self.all_on)
        buttons.addWidget(self.layer_off)
        buttons.addStretch(1)
        rbox.addLayout(buttons)
        self.slot_combo = QComboBox()
        self.slot_combo.setVisible(False)
        self.slot_combo.currentIndexChanged.connect(lambda _i: self._draw_ablation())
        self.ablation_note = QLabel(wordWrap=True)
        rbox.addWidget(self.ablation_note)
        rbox.addWidget(self.slot_combo)
        self.compare = table(compare_headers("masks", "all heads", "heads off"))
        rbox.addWidget(self.compare, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([600, 450])
        self.layout_.addWidget(split, 1)

    def job(self, loaded: Any, text: str, pair: str | None) -> tuple:
        return head_contributions, (loaded, text, pair), {}

    def off(self) -> set[tuple[int, int]]:
        return {key for key, box in self.boxes.items() if box.isChecked()}

    def draw(self, result: HeadContributions) -> None:
        layers, heads = result.norms.shape[:2]
        labels = ["all tokens (mean)", *(f"{i}: {t}" for i, t in enumerate(result.tokens))]
        self.token_combo.blockSignals(True)
        keep = self.token_combo.currentIndex()
        self.token_combo.clear()
        self.token_combo.addItems(labels)
        self.token_combo.setCurrentIndex(keep if 0 <= keep < len(labels) else 0)
        self.token_combo.blockSignals(False)
        if {k for k in self.boxes} != {(layer, h) for layer in range(layers) for h in range(heads)}:
            self._make_boxes(layers, heads)
        self._draw_grid()
        self.run_ablation()

    def _make_boxes(self, layers: int, heads: int) -> None:
        for box in self.boxes.values():
            box.deleteLater()
        self.boxes.clear()
        for h in range(heads):
            self.box_grid.addWidget(QLabel(f"h{h}"), 0, h + 1)
        for layer in range(layers):
            self.box_grid.addWidget(QLabel(f"layer {layer}"), layer + 1, 0)
            for h in range(heads):
                box = QCheckBox()
                box.setToolTip(f"Switch off layer {layer}, head {h}")
                box.toggled.connect(lambda _on: self.run_ablation())
                self.box_grid.addWidget(box, layer + 1, h + 1)
                self.boxes[(layer, h)] = box
        self.box_grid.setRowStretch(layers + 1, 1)
        self.box_grid.setColumnStretch(heads + 1, 1)

    def _draw_grid(self) -> None:
        result: HeadContributions | None = self.result
        if result is None:
            return
        index = self.token_combo.currentIndex()
        values = result.at(None if index <= 0 else index - 1)
        layers, heads = values.shape
        self.grid.set_matrix(
            values,
            [f"layer {i}" for i in range(layers)],
            [f"h{i}" for i in range(heads)],
            row_title="layer",
            col_title="head",
        )
        where = "averaged over the tokens" if index <= 0 else f"at “{result.tokens[index - 1]}”"
        self.grid.plot.setTitle(f"‖head_i·W^O_i‖ {where}")

    def _toggle(self, layer: int, head: int) -> None:
        box = self.boxes.get((layer, head))
        if box is not None:
            box.setChecked(not box.isChecked())

    def _set_all(self, off: set[tuple[int, int]]) -> None:
        for key, box in self.boxes.items():
            box.blockSignals(True)
            box.setChecked(key in off)
            box.blockSignals(False)
        self.run_ablation()

    def _all_on(self) -> None:
        self._set_all(set())

    def _last_layer_off(self) -> None:
        last = max((layer for layer, _ in self.boxes), default=0)
        self._set_all({k for k in self.boxes if k[0] == last})

    def run_ablation(self) -> None:
        """Predictions with every head and without the ticked ones, on a worker (newest request wins)."""
        off = sorted(self.off())
        self.off_marks.setData([h + 0.5 for _, h in off], [layer + 0.5 for layer, _ in off])
        key, text, pair = self.panel.inputs()
        loaded = self.panel.current_model()
        if loaded is None or self.result is None:
            return
        missing = self.panel.missing_head(loaded, (HEAD_MLM, HEAD_CLS), "head ablation")
        if missing:
            self.ablation_note.setText(missing)
            self.compare.setRowCount(0)
            return
        worker = self._ablation_latest.submit(ablate, loaded, text, frozenset(self.off()), pair)
        worker.result.connect(self._ablation_ready)
        worker.error.connect(lambda message, _tb: self.ablation_note.setText(message_html("error", message)))
        worker.start()

    def _ablation_ready(self, ablation: Ablation) -> None:
        self.ablation = ablation
        n = len(ablation.off)
        self.ablation_note.setText(
            f"{n} head{'s' if n != 1 else ''} off: the table updates as you tick." if n else "All heads on."
        )
        names = ablation.full.slot_names
        self.slot_combo.blockSignals(True)
        keep = self.slot_combo.currentIndex()
        self.slot_combo.clear()
        self.slot_combo.addItems(names)
        self.slot_combo.setCurrentIndex(keep if 0 <= keep < len(names) else 0)
        self.slot_combo.setVisible(len(names) > 1)
        self.slot_combo.blockSignals(False)
        self._draw_ablation()

    def _draw_ablation(self) -> None:
        if self.ablation is None:
            return
        kind = self.ablation.full.kind
        headers = compare_headers(kind, "all heads", "heads off")
        self.compare.setColumnCount(len(headers))
        self.compare.setHorizontalHeaderLabels(headers)
        slot = max(self.slot_combo.currentIndex(), 0)
        fill_table(self.compare, compare_rows(self.ablation.full, self.ablation.ablated, slot))

    def numbers(self) -> dict[str, Any]:
        out = self.result.to_json()
        if self.ablation is not None:
            out["ablation"] = self.ablation.to_json()
        return out

    def cancel(self) -> None:
        super().cancel()
        self._ablation_latest.cancel()
