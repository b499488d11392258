"""The Rollout page: Abnar & Zuidema's attention rollout as a token x token map and one token's bars."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from lmstudio_app.core.attention.result import MASKED_NOTE
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.attention.display import Display
from lmstudio_app.ui.widgets.heatmap import Heatmap
from lmstudio_app.ui.widgets.token_bars import TokenBars


class RolloutPage(QSplitter):
    """The map and, beside it (so the map keeps its height for every row label), the chosen output
    token's row as bars; both honour the display options."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.map = Heatmap(unit="share drawn from input")
        self.token = QComboBox()
        self.token.setToolTip("The output token whose sources the bars show")
        self.token.currentIndexChanged.connect(lambda _i: self.draw_bars())
        self.bars = TokenBars(y_title="share", what="share drawn from it:")
        bottom = QWidget()
        box = QVBoxLayout(bottom)
        row = QHBoxLayout()
        row.addWidget(QLabel("Rollout (Abnar & Zuidema 2020) of:"))
        row.addWidget(self.token)
        row.addStretch(1)
        box.addLayout(row)
        self.note = QLabel(wordWrap=True)
        self.note.hide()
        box.addWidget(self.note)
        box.addWidget(self.bars, 1)
        self.addWidget(self.map)
        self.addWidget(bottom)
        self.setSizes([600, 420])
        self.display: Display | None = None

    def draw(self, display: Display, rollout_full: np.ndarray | None) -> None:
        """The rollout of the view's sequence; None (cross-attention, two sequences) says what to pick."""
        self.note.setVisible(rollout_full is None)
        self.token.setEnabled(rollout_full is not None)
        if rollout_full is None:
            self.display = None
            self.note.setText(
                "Rollout follows one sequence through its own layers: choose the encoder's or the decoder's "
                "self-attention above (cross-attention mixes two sequences)."
            )
            self.map.set_matrix(np.zeros((0, 0)), [], [])
            self.bars.set_values(np.zeros(0), [], title="")
            return
        self.display = display
        self.map.masked_text = MASKED_NOTE
        start, stop = display.view.offset, display.view.offset + display.view.n_tokens
        tokens, b = display.tokens, display.b_start
        self.map.hover = lambda r, c, v: (
            f"output “{tokens[r]}”{display.segment(r)} draws {fmt.percent(v)} from input "
            f"“{tokens[c]}”{display.segment(c)}"
        )
        self.map.set_matrix(
            display.matrix(rollout_full[start:stop, start:stop]),
            tokens,
            tokens,
            row_title="output token (last layer)",
            col_title="input token",
            row_b_start=b,
            col_b_start=b,
        )
        self.draw_bars()

    def draw_bars(self) -> None:
        """The chosen output token's row of the map as it is shown (hidden tokens, threshold and all)."""
        if self.display is None or self.map.matrix.size == 0:
            return
        i = min(max(self.token.currentIndex(), 0), self.map.matrix.shape[0] - 1)
        tokens = self.display.tokens
        self.bars.set_values(
            np.nan_to_num(self.map.matrix[i]),  # masked (later) tokens: nothing drawn from them
            tokens,
            highlight=i,
            title=f"What the last layer's “{html.escape(tokens[i])}” draws from each input token",
            b_start=self.display.b_start,
        )
