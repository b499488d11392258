"""The Overview (every layer x head, one head large) and Head summary pages of the attention panel.

A causal model's later positions are hatched (masked) in both maps, and the hover says why; the head
statistics count only the keys a query may see (core/attention/analysis.head_statistics)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from lmstudio_app.core.attention.analysis import HeadStats
from lmstudio_app.core.attention.result import MASKED_NOTE
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.attention.display import Display
from lmstudio_app.ui.widgets.attention_grid import AttentionGrid
from lmstudio_app.ui.widgets.heatmap import Heatmap

# key, title, colour-bar unit, what the hover calls it, how one value reads
SUMMARY = (
    ("entropy", "Entropy: low = focused on few tokens", "entropy (nats)", "entropy", fmt.nats),
    ("distance", "Mean distance from query to key", "distance (tokens)", "mean distance", fmt.tokens),
    (
        "special_share",
        "Share of attention on [CLS]/[SEP]",
        "share on [CLS]/[SEP]",
        "share on [CLS]/[SEP]",
        fmt.percent,
    ),
)


class OverviewPage(QSplitter):
    """The layer x head grid on the left, the chosen head with every token labelled on the right."""

    head_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = AttentionGrid()
        self.grid.setToolTip(
            "Every head (rows: layers, columns: heads); click one to open it on the right, "
            "double-click to see the whole grid again"
        )
        self.grid.cell_clicked.connect(self.head_clicked)
        self.detail = Heatmap(unit="attention weight")
        self.grid.masked_text = self.detail.masked_text = MASKED_NOTE
        self.detail_title = QLabel("Click a head in the grid", wordWrap=True)
        right = QWidget()
        box = QVBoxLayout(right)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.detail_title)
        box.addWidget(self.detail, 1)
        self.addWidget(self.grid)
        self.addWidget(right)
        self.setSizes([560, 480])
        self.display: Display | None = None
        self.weights = None

    def draw(self, display: Display, layer: int, head: int) -> None:
        self.display = display
        self.weights = display.matrix(display.view.attentions)
        self.grid.set_weights(self.weights, display.tokens, display.column_tokens)
        self.grid.select(layer, head)
        self.draw_head(layer, head)

    def draw_head(self, layer: int, head: int) -> None:
        """The chosen head large: queries as rows, keys as columns, sentence B after the red line."""
        display = self.display
        if display is None or self.weights is None:
            return
        tokens, keys = display.tokens, display.column_tokens
        self.grid.select(layer, head)
        cross = display.view.key_tokens is not None
        masked = "; hatched: masked, a token cannot attend to later tokens" if display.view.causal else ""
        self.detail_title.setText(
            f"Layer {layer}, head {head}: each row (query) shares its attention among the columns (keys){masked}"
        )
        self.detail.hover = lambda r, c, v: (
            f"query “{tokens[r]}”{display.segment(r)} gives {fmt.percent(v)} of its attention to key "
            f"“{keys[c]}”{display.segment(c)}"
        )
        b = display.b_start
        self.detail.set_matrix(
            self.weights[layer, head],
            tokens,
            keys,
            row_title="query (decoder token)" if cross else "query",
            col_title="key (encoder token)" if cross else "key",
            row_b_start=b,
            col_b_start=b,
        )


class SummaryPage(QWidget):
    """One layer x head map per statistic, each with its own colour bar and unit; click opens the head."""

    head_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.addWidget(
            QLabel(
                "Each head over the whole input (rows: layers, columns: heads); click a cell to open that "
                "head. The display options above do not change these statistics.",
                wordWrap=True,  # one line of it set the window's minimum width
            )
        )
        box = QHBoxLayout()
        outer.addLayout(box, 1)
        self.maps: dict[str, Heatmap] = {}
        self.titles: dict[str, QLabel] = {}
        for key, title, unit, name, text in SUMMARY:
            column = QVBoxLayout()
            self.titles[key] = QLabel(title, wordWrap=True)
            column.addWidget(self.titles[key])
            heat = Heatmap(unit=unit, percent=key == "special_share")
            heat.hover = lambda r, c, v, name=name, text=text: f"layer {r}, head {c}: {name} {text(v)}"
            heat.cell_clicked.connect(self.head_clicked)
            self.maps[key] = heat
            column.addWidget(heat, 1)
            box.addLayout(column, 1)

    def draw(self, stats: HeadStats) -> None:
        layers = [str(i) for i in range(stats.entropy.shape[0])]
        heads = [str(i) for i in range(stats.entropy.shape[1])]
        for key, title, *_ in SUMMARY:
            values = getattr(stats, key)
            undefined = bool(np.isnan(values).all())  # cross-attention has no query-to-key distance
            self.titles[key].setText(f"{title}: not defined for cross-attention" if undefined else title)
            self.maps[key].setVisible(not undefined)
            if undefined:
                self.maps[key].set_matrix(np.zeros((0, 0)), [], [])
                continue
            # share: on its absolute scale; entropy and distance: stretched so that the heads' differences show
            low, high = float(values.min()), float(values.max())
            levels = (0.0, 1.0) if key == "special_share" else (low, high if high > low else low + 1e-6)
            self.maps[key].set_matrix(
                values, layers, heads, levels=levels, row_title="layer", col_title="head"
            )
