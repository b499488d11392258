"""Self-attention step by step: each formula of one layer, for one head and query token, above its numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
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
from lmstudio_app.ui.inside.common import InsideView, formula, show_vectors, strip, themed
from lmstudio_app.ui.widgets.heatmap import Heatmap
from lmstudio_app.ui.widgets.token_bars import TokenBars

STRIP = 96  # height of a one-row vector strip


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
        self.layout_.addWidget(
            formula(
                "Attention(Q, K, V) = softmax(QK<sup>T</sup>/√d<sub>k</sub>)·V &nbsp;&nbsp; "
                "Z = LayerNorm(X + MultiHead(X)) &nbsp;&nbsp; X′ = LayerNorm(Z + FFN(Z))"
            )
        )
        self.layout_.addWidget(self.note)
        self.page = QWidget()
        grid = QGridLayout(self.page)
        self.formulas: dict[str, QLabel] = {}
        self.x_strip = strip()
        self.q_strip = strip()
        self.keys_map, self.values_map = strip(), strip()
        self.score_bars = themed(TokenBars(y_title="score"))
        self.weight_bars = themed(TokenBars(y_title="weight"))
        self.map = themed(Heatmap())
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
        for heat in (self.score_bars, self.weight_bars, self.map, self.keys_map, self.values_map):
            heat.hovered.connect(lambda text: self.panel.status.setText(text) if text else None)

    def choice(self) -> Choice:
        return Choice(
            self.layer_spin.value(), self.head_spin.value(), max(self.token_combo.currentIndex(), 0)
        )

    def job(self, loaded: Any, text: str, pair: str | None) -> tuple:
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
        c, tok, n, d = s.choice, s.tokens[s.choice.token], len(s.tokens), s.x.shape[0]
        h, dk, f = s.n_heads, s.head_dim, s.shapes
        shape = "{}×{}".format  # noqa: UP032 (used as a function)
        self.formulas["x"].setText(
            f"① Input of layer {c.layer} for the query token “{tok}”: <b>x</b> = X[{c.token}], d = {d}"
        )
        show_vectors(self.x_strip, s.x, ["x"])
        self.formulas["qkv"].setText(
            f"② <b>q</b> = x·W<sup>Q</sup><sub>{c.head}</sub>, <b>k</b><sub>j</sub> = x<sub>j</sub>·"
            f"W<sup>K</sup><sub>{c.head}</sub>, <b>v</b><sub>j</sub> = x<sub>j</sub>·W<sup>V</sup><sub>{c.head}</sub>"
            f" &nbsp; (W<sup>Q</sup>, W<sup>K</sup>, W<sup>V</sup>: {shape(*f['W^Q'])}; head {c.head} uses "
            f"columns {c.head * dk}–{(c.head + 1) * dk - 1}, {shape(d, dk)}; d<sub>k</sub> = {dk})"
        )
        show_vectors(self.q_strip, s.q, [f"q ({tok})"])
        self.q_strip.plot.setTitle("q")
        show_vectors(self.keys_map, s.keys, s.tokens)
        self.keys_map.plot.setTitle("keys k_j")
        show_vectors(self.values_map, s.values, s.tokens)
        self.values_map.plot.setTitle("values v_j")
        for heat in (self.q_strip, self.keys_map, self.values_map):
            heat.setFixedHeight(max(STRIP, 16 * n + 80))
        self.formulas["scores"].setText(
            f"③ score<sub>j</sub> = q·k<sub>j</sub> / √d<sub>k</sub> = q·k<sub>j</sub> / {np.sqrt(dk):.3g}"
        )
        self.score_bars.set_values(
            s.scores, s.tokens, highlight=c.token, title=f"scores of “{tok}” against every key"
        )
        self.formulas["softmax"].setText(
            "④ w<sub>j</sub> = softmax(score)<sub>j</sub> = e<sup>score<sub>j</sub></sup> / Σ<sub>m</sub> "
            f"e<sup>score<sub>m</sub></sup> &nbsp; = row {c.token} of head {c.head}'s attention map (right)"
        )
        self.weight_bars.set_values(
            s.weights, s.tokens, highlight=c.token, title=f"weights (sum {s.weights.sum():.3f})"
        )
        self.map.set_matrix(s.attention_map, s.tokens, s.tokens, row_title="query", col_title="key")
        self.map.plot.setTitle(f"layer {c.layer}, head {c.head}")
        self.formulas["head"].setText(
            f"⑤ head<sub>{c.head}</sub> = Σ<sub>j</sub> w<sub>j</sub>·v<sub>j</sub> &nbsp; ({dk} numbers)"
        )
        show_vectors(self.head_strip, s.head_output, [f"head {c.head}"])
        self.formulas["multi"].setText(
            f"⑥ MultiHead = Concat(head<sub>0</sub>, …, head<sub>{h - 1}</sub>)·W<sup>O</sup> + b<sup>O</sup> "
            f"&nbsp; (Concat: {h}×{dk} = {h * dk} numbers; W<sup>O</sup>: {shape(*f['W^O'])})"
        )
        show_vectors(self.concat_map, s.heads, [f"head {i}" for i in range(h)])
        self.concat_map.plot.setTitle("every head's output for this token")
        self.concat_map.setFixedHeight(max(STRIP, 16 * h + 80))
        self.multi_strip.setFixedHeight(max(STRIP, 16 * h + 80))
        show_vectors(self.multi_strip, s.multi_head, ["MultiHead"])
        self.formulas["z"].setText("⑦ Z = LayerNorm(x + MultiHead) &nbsp; (first residual connection)")
        show_vectors(self.z_strip, s.z, ["Z"])
        self.formulas["ffn"].setText(
            f"⑧ FFN(Z) = act(Z·W<sub>1</sub> + b<sub>1</sub>)·W<sub>2</sub> + b<sub>2</sub> &nbsp; "
            f"(W<sub>1</sub>: {shape(*f['W_1'])}, W<sub>2</sub>: {shape(*f['W_2'])})"
        )
        show_vectors(self.ffn_hidden_strip, s.ffn_hidden, ["act(Z·W1+b1)"])
        show_vectors(self.ffn_strip, s.ffn, ["FFN(Z)"])
        self.formulas["out"].setText(
            f"⑨ X′ = LayerNorm(Z + FFN(Z)) = the layer's output for “{tok}”. The model's own hidden state "
            f"differs by at most <b>{s.max_error:.1e}</b>: these formulas are what the model computes."
        )
        show_vectors(self.out_strip, np.stack([s.output, s.model_output]), ["X′ (rebuilt)", "model's X′"])
