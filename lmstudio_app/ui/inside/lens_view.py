"""Layer lens: probability and rank of the final top-k words after every layer (plot and table), at a
masked LM's mask or, for a causal LM, at the next token (the logit lens)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QSplitter, QWidget

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.lens import LayerLens, layer_lens
from lmstudio_app.core.models.registry import HEAD_CAUSAL_LM, HEAD_MLM
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.inside.common import InsideView, fill_table, formula, table, themed
from lmstudio_app.ui.widgets.heatmap import TokenAxis

MASK_FORMULA = (
    "p<sub>ℓ</sub>(w) = softmax(MLMHead(h<sub>ℓ</sub>[mask]))<sub>w</sub> &nbsp; the model's own "
    "masked-LM head reads the mask's hidden state h<sub>ℓ</sub> after the embeddings and after each "
    "layer ℓ; the last row is the model's answer (the Masked words tab's)"
)
NEXT_FORMULA = (
    "p<sub>ℓ</sub>(w) = softmax(LMHead(FinalNorm(h<sub>ℓ</sub>[last])))<sub>w</sub> &nbsp; the logit lens: "
    "the model's final norm and LM head read the last token's hidden state h<sub>ℓ</sub> after the "
    "embeddings and after each layer ℓ; the last row is the model's next-token distribution (the Generate "
    "tab's)"
)
# Tableau-like colours that read on white and on the dark background alike.
LINE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def _line_plot(y_title: str) -> tuple[pg.PlotWidget, TokenAxis]:
    axis = TokenAxis("bottom")
    plot = themed(pg.PlotWidget(axisItems={"bottom": axis}))
    plot.plotItem.setMenuEnabled(False)
    plot.plotItem.hideButtons()
    plot.setLabel("left", y_title)
    plot.getAxis("left").enableAutoSIPrefix(False)
    plot.setLabel("bottom", "after")
    plot.addLegend(offset=(10, 10))
    return plot, axis


class LensView(InsideView):
    title = "Layer lens"

    def __init__(self, panel: Any) -> None:
        super().__init__(panel)
        row = QHBoxLayout()
        self.top_k = QSpinBox(minimum=1, maximum=8, value=5)
        self.mask_spin = QSpinBox(minimum=0, maximum=20, value=0)
        for label, spin in (("Final top-k words", self.top_k), ("Mask (from 0)", self.mask_spin)):
            row.addWidget(QLabel(label))
            row.addWidget(spin)
            spin.valueChanged.connect(lambda _v: self.result is not None and self.run())
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.header = formula(MASK_FORMULA)
        self.layout_.addWidget(self.header)
        self.layout_.addWidget(self.note)
        self.prob_plot, self.prob_axis = _line_plot("probability")
        self.rank_plot, self.rank_axis = _line_plot("rank (log scale, 1 = top)")
        self.rank_plot.setLogMode(y=True)
        self.rank_plot.getPlotItem().invertY(True)
        self.figure = QSplitter()
        self.figure.addWidget(self.prob_plot)
        self.figure.addWidget(self.rank_plot)
        self.table = table(["after", "best here"])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.figure)
        split.addWidget(self.table)
        split.setSizes([420, 300])
        self.layout_.addWidget(split, 1)

    def job(self, loaded: Any, text: str, pair: str | None) -> tuple:
        missing = self.panel.missing_head(loaded, (HEAD_MLM, HEAD_CAUSAL_LM), "the layer lens")
        if missing:
            raise UserError(missing)
        causal = loaded.has_head(HEAD_CAUSAL_LM)  # follows the next token of one text: no mask, no B
        self.mask_spin.setEnabled(not causal)
        mask, pair = (0, None) if causal else (self.mask_spin.value(), pair)
        return layer_lens, (loaded, text), {"top_k": self.top_k.value(), "mask": mask, "text_b": pair}

    def draw(self, lens: LayerLens) -> None:
        names = ["emb", *(name.removeprefix("layer ") for name in lens.layer_names[1:])]
        x = np.arange(len(names)) + 0.5
        for plot, axis, values in (
            (self.prob_plot, self.prob_axis, lens.probs),
            (self.rank_plot, self.rank_axis, lens.ranks.astype(float)),
        ):
            plot.clear()
            axis.set_labels(names)
            for j, word in enumerate(lens.words):
                colour = LINE_COLOURS[j % len(LINE_COLOURS)]
                plot.plot(
                    x,
                    values[:, j],
                    pen=pg.mkPen(colour, width=2),
                    symbol="o",
                    symbolSize=6,
                    symbolBrush=colour,
                    name=word,
                )
            plot.setXRange(0, len(names), padding=0.02)
        self.header.setText(MASK_FORMULA if lens.follows == "mask" else NEXT_FORMULA)
        k, token = len(lens.words), lens.tokens[lens.position]
        self.prob_plot.setTitle(
            f"probability of the final top {k} at “{token}” (token {lens.position})"
            if lens.follows == "mask"
            else f"final top {k} as the next token after “{token}”"
        )
        self.rank_plot.setTitle("their rank among the whole vocabulary")
        headers = ["after", "best here", *lens.words]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        rows = []
        for name, best, probs, ranks in zip(lens.layer_names, lens.best, lens.probs, lens.ranks, strict=True):
            cells = [f"{fmt.percent(p)} (#{r})" for p, r in zip(probs, ranks, strict=True)]
            rows.append([name, f"{best[0]} {fmt.percent(best[1])}", *cells])
        fill_table(self.table, rows)

    def export_widget(self) -> QWidget:
        return self.figure
