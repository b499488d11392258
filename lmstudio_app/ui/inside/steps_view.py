"""Self-attention step by step: each formula of one layer, for one head and query token, above its numbers.

Encoders show BERT's self-attention; causal LMs their masked self-attention, with the score map whose
masked cells (−∞) are left empty and marked; encoder-decoders their cross-attention (decoder tokens
query the source). The words of each step come from ui/inside/steps_text.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QWidget,
)

from lmstudio_app.core.inside.steps import AttentionSteps, Choice, attention_steps
from lmstudio_app.core.models.registry import HEAD_CAUSAL_LM
from lmstudio_app.ui.inside.common import InsideView, formula, show_vectors, strip, themed
from lmstudio_app.ui.inside.steps_text import header, texts
from lmstudio_app.ui.plot_theme import colours
from lmstudio_app.ui.widgets.heatmap import Heatmap
from lmstudio_app.ui.widgets.token_bars import TokenBars

STRIP = 96  # height of a one-row vector strip
MARKED = 40  # up to this many tokens, each masked cell is also marked "−∞"


class StepsView(InsideView):
    """Attention(Q, K, V) = softmax(QKᵀ/√d_k)V and the rest of the layer, computed for one token."""

    title = "Self-attention"

    def __init__(self, panel: Any) -> None:
        super().__init__(panel)
        row = QHBoxLayout()
        self.layer_spin, self.head_spin = QSpinBox(), QSpinBox()
        self.token_combo = QComboBox()
        self.token_combo.setMinimumContentsLength(12)
        for label, widget in (
            ("Layer", self.layer_spin),
            ("Head", self.head_spin),
            ("Query token", self.token_combo),
        ):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addStretch(1)
        self.layer_spin.valueChanged.connect(self._choice_changed)
        self.head_spin.valueChanged.connect(self._choice_changed)
        self.token_combo.currentIndexChanged.connect(self._choice_changed)
        self.layout_.addLayout(row)
        self.header = formula(
            "Attention(Q, K, V) = softmax(QK<sup>T</sup>/√d<sub>k</sub>)·V &nbsp;&nbsp; "
            "Z = LayerNorm(X + MultiHead(X)) &nbsp;&nbsp; X′ = LayerNorm(Z + FFN(Z))"
        )
        self.layout_.addWidget(self.header)
        self.layout_.addWidget(self.note)
        self.page = QWidget()
        grid = QGridLayout(self.page)
        self.formulas: dict[str, QLabel] = {}
        self.x_strip = strip()
        self.q_strip = strip()
        self.keys_map, self.values_map = strip(), strip()
        self.score_bars = themed(TokenBars(y_title="score"))
        self.score_bars.plot.setLabel("left", "score × 100")  # the bars draw shares in percent
        self.score_bars.describe = lambda i, v: f"“{self.score_bars.tokens[i]}”: score {v:+.4f}"
        self.weight_bars = themed(TokenBars(y_title="weight"))
        self.map = themed(Heatmap())
        self.score_map = strip()
        self.score_map.masked_text = "−∞ (masked: after the query)"  # NaN cells are drawn hatched
        self.map.masked_text = "excluded (masked: after the query)"
        self.mask_marks: list[pg.TextItem] = []
        self.head_strip = strip()
        self.concat_map, self.multi_strip = strip(), strip()
        self.z_strip, self.ffn_hidden_strip, self.ffn_strip, self.out_strip = (
            strip(),
            strip(),
            strip(),
            strip(),
        )
        steps: list[tuple[str, list[QWidget], int]] = [
            ("x", [self.x_strip], STRIP),
            ("qkv", [self.q_strip, self.keys_map, self.values_map], 0),
            ("scores", [self.score_bars], 220),
            ("mask", [self.score_map], 300),
            ("softmax", [self.weight_bars, self.map], 300),
            ("head", [self.head_strip], STRIP),
            ("multi", [self.concat_map, self.multi_strip], 0),
            ("z", [self.z_strip], STRIP),
            ("ffn", [self.ffn_hidden_strip, self.ffn_strip], STRIP),
            ("out", [self.out_strip], STRIP + 20),
        ]
        for r, (key, widgets, height) in enumerate(steps):
            self.formulas[key] = formula("")
            grid.addWidget(self.formulas[key], 2 * r, 0, 1, 2)
            box = QHBoxLayout()
            for widget in widgets:
                if height:
                    widget.setFixedHeight(height)
                box.addWidget(widget, 1)
            grid.addLayout(box, 2 * r + 1, 0, 1, 2)
        grid.setRowStretch(2 * len(steps), 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.page)
        self.layout_.addWidget(scroll, 1)
        self.mask_rows = [self.formulas["mask"], self.score_map]
        for heat in (
            self.score_bars,
            self.weight_bars,
            self.map,
            self.score_map,
            self.keys_map,
            self.values_map,
        ):
            heat.hovered.connect(lambda text: self.panel.status.setText(text) if text else None)

    def choice(self) -> Choice:
        return Choice(
            self.layer_spin.value(), self.head_spin.value(), max(self.token_combo.currentIndex(), 0)
        )

    def job(self, loaded: Any, text: str, pair: str | None) -> tuple:
        if loaded.has_head(HEAD_CAUSAL_LM):  # a decoder-only model reads one text; B is for encoders
            pair = None
        return attention_steps, (loaded, text, self.choice(), pair), {}

    def _choice_changed(self) -> None:
        if self.result is not None:
            self.run()

    def _set_controls(self, s: AttentionSteps) -> None:
        for spin, top, value in (
            (self.layer_spin, s.n_layers - 1, s.choice.layer),
            (self.head_spin, s.n_heads - 1, s.choice.head),
        ):
            spin.blockSignals(True)
            spin.setRange(0, top)
            spin.setValue(value)
            spin.blockSignals(False)
        labels = [f"{i}: {t}" for i, t in enumerate(s.tokens)]
        if [self.token_combo.itemText(i) for i in range(self.token_combo.count())] != labels:
            self.token_combo.blockSignals(True)
            self.token_combo.clear()
            self.token_combo.addItems(labels)
            self.token_combo.setCurrentIndex(s.choice.token)
            self.token_combo.blockSignals(False)

    def draw(self, s: AttentionSteps) -> None:
        self._set_controls(s)
        c, tok, keys, h = s.choice, s.tokens[s.choice.token], s.keys_read, s.n_heads
        words = texts(s)
        self.header.setText(header(s))
        for key, text in words.items():
            self.formulas[key].setText(text)
        show_vectors(self.x_strip, s.x, ["x"])
        show_vectors(self.q_strip, s.q, [f"q ({tok})"])
        self.q_strip.plot.setTitle("q")
        show_vectors(self.keys_map, s.keys, keys)
        self.keys_map.plot.setTitle("keys k_j")
        show_vectors(self.values_map, s.values, keys)
        self.values_map.plot.setTitle("values v_j")
        for heat in (self.q_strip, self.keys_map, self.values_map):
            heat.setFixedHeight(max(STRIP, 16 * len(keys) + 80))
        masked = np.isneginf(s.scores)
        title = f"scores of “{tok}” against every key"
        if masked.any():
            title += f" ({int(masked.sum())} masked: −∞, no bar)"
        own = c.token if s.key_tokens is None else None
        self.score_bars.set_values(np.where(masked, 0.0, s.scores), keys, highlight=own, title=title)
        self._draw_score_map(s)
        self.weight_bars.set_values(
            s.weights, keys, highlight=own, title=f"weights (sum {s.weights.sum():.3f})"
        )
        shown = s.attention_map
        if s.score_map is not None and s.form.kind == "masked":  # excluded, not merely zero
            shown = np.where(np.isneginf(s.score_map), np.nan, s.attention_map)
        self.map.set_matrix(shown, s.tokens, keys, row_title="query", col_title="key")
        self.map.plot.setTitle(f"layer {c.layer}, head {c.head}")
        show_vectors(self.head_strip, s.head_output, [f"head {c.head}"])
        show_vectors(self.concat_map, s.heads, [f"head {i}" for i in range(h)])
        self.concat_map.plot.setTitle("every head's output for this token")
        self.concat_map.setFixedHeight(max(STRIP, 16 * h + 80))
        self.multi_strip.setFixedHeight(max(STRIP, 16 * h + 80))
        show_vectors(self.multi_strip, s.multi_head, ["MultiHead"])
        show_vectors(self.z_strip, s.z, ["Z"])
        show_vectors(self.ffn_hidden_strip, s.ffn_hidden, ["FFN hidden"])
        show_vectors(self.ffn_strip, s.ffn, ["FFN"])
        show_vectors(self.out_strip, np.stack([s.output, s.model_output]), ["X′ (rebuilt)", "model's X′"])

    def _draw_score_map(self, s: AttentionSteps) -> None:
        """The head's scores for every query: a decoder's masked cells are empty and marked −∞."""
        for widget in self.mask_rows:
            widget.setVisible(s.score_map is not None)
        for mark in self.mask_marks:
            self.score_map.plot.removeItem(mark)
        self.mask_marks = []
        if s.score_map is None:
            return
        hidden = np.isneginf(s.score_map)
        finite = s.score_map[~hidden]
        top = float(np.abs(finite).max()) if finite.size else 1.0
        shown = np.where(hidden, np.nan, s.score_map)
        self.score_map.set_matrix(
            shown, s.tokens, s.keys_read, levels=(-top, top), row_title="query", col_title="key"
        )
        self.score_map.plot.setTitle(f"scores of head {s.choice.head}, every query")
        rows = s.tokens
        self.score_map.setFixedHeight(max(220, 18 * len(rows) + 90))
        if hidden.any() and len(rows) <= MARKED:
            for r, k in zip(*np.nonzero(hidden), strict=True):
                mark = pg.TextItem("−∞", color=colours().foreground, anchor=(0.5, 0.5))
                mark.setPos(k + 0.5, r + 0.5)
                self.score_map.plot.addItem(mark)
                self.mask_marks.append(mark)
