"""The Neuron page: for one head and query token, every key's per-dimension q[d]·k[d] and the weights."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QSplitter, QVBoxLayout, QWidget

from lmstudio_app.core.attention.analysis import neuron_view
from lmstudio_app.core.errors import UserError
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.attention.display import Display
from lmstudio_app.ui.widgets.heatmap import Heatmap
from lmstudio_app.ui.widgets.token_bars import TokenBars


class NeuronPage(QWidget):
    """Keys as rows (hidden tokens left out), dimensions as columns; the bars are the query's weights."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer = QSpinBox()
        self.head = QSpinBox()
        self.token = QComboBox()
        for spin in (self.layer, self.head):
            spin.valueChanged.connect(lambda _v: self.draw())
        self.token.currentIndexChanged.connect(lambda _i: self.draw())
        self.products = Heatmap(colormap="diverging", unit="q[d]·k[d]", percent=False)
        self.bars = TokenBars(y_title="attention weight", what="gets")
        self.note = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)  # tokens such as <s> stay text
        box = QVBoxLayout(self)
        row = QHBoxLayout()
        for label, widget in (("Layer", self.layer), ("Head", self.head), ("Query token", self.token)):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addStretch(1)
        box.addLayout(row)
        box.addWidget(self.note)
        split = QSplitter(Qt.Orientation.Horizontal)  # side by side: the map keeps a row per key
        split.addWidget(self.products)
        split.addWidget(self.bars)
        split.setSizes([600, 420])
        box.addWidget(split, 1)
        self.display: Display | None = None

    def set_display(self, display: Display) -> None:
        self.display = display
        self.layer.setRange(0, display.view.n_layers - 1)
        self.head.setRange(0, display.view.n_heads - 1)

    def draw(self) -> None:
        display = self.display
        if display is None:
            return
        layer, head = self.layer.value(), self.head.value()
        shown = min(max(self.token.currentIndex(), 0), len(display.indices) - 1)
        query = int(display.indices[shown])
        try:
            nv = neuron_view(display.view, layer, head, query)
        except UserError as exc:
            self.note.setText(str(exc))
            self.products.set_matrix(np.zeros((0, 0)), [], [])
            return
        tokens, b = display.tokens, display.b_start
        name = display.view.tokens[query]
        self.note.setText(
            f"Query “{name}” (layer {layer}, head {head}) against every key: each cell is q[d]·k[d]; "
            f"a row sums (÷√{nv.query.shape[0]}) to the key's score, and the softmax of the scores gives the weights "
            "on the right (models with relative positions add a bias, so the bars show the weights the model really used)."
        )
        dims = [str(d) for d in range(nv.products.shape[1])]
        self.products.hover = lambda r, c, v: (
            f"key “{tokens[r]}”{display.segment(r)}, dimension {c}: q[{c}]·k[{c}] = {fmt.signed(v)}"
        )
        self.products.set_matrix(
            nv.products[display.indices],
            tokens,
            dims,
            row_title="key",
            col_title="dimension d",
            row_b_start=b,
        )
        self.bars.describe = lambda i, v: f"key “{tokens[i]}”{display.segment(i)} gets {fmt.percent(v)}"
        self.bars.set_values(
            display.row(nv.attention),
            tokens,
            highlight=shown,
            title=f"Attention weight of each key for the query “{html.escape(name)}”",
            b_start=b,
        )
