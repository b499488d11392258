"""Pre-training objectives: BERT's masking drawn live, the loss per masked token, and L = α·L_MLM + β·L_NSP."""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
)

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.objectives import Objectives, Weights, objectives
from lmstudio_app.core.models.registry import HEAD_MLM, HEAD_NSP
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.inside.common import InsideView, fill_table, formula, table, themed
from lmstudio_app.ui.widgets.token_bars import TokenBars

ACTION_COLOURS = {"mask": "#e74c3c", "random": "#e67e22", "keep": "#27ae60"}
ACTION_NAMES = {"mask": "→ [MASK] (80 %)", "random": "→ random token (10 %)", "keep": "unchanged (10 %)"}


class ObjectivesView(InsideView):
    title = "Objectives"

    def __init__(self, panel: Any) -> None:
        super().__init__(panel)
        row = QHBoxLayout()
        self.seed = QSpinBox(minimum=0, maximum=1_000_000, value=0)
        self.seed.valueChanged.connect(lambda _v: self.result is not None and self.run())
        self.reroll = QPushButton("Re-roll masking")
        self.reroll.clicked.connect(lambda: self.seed.setValue(self.seed.value() + 1))
        self.alpha = QDoubleSpinBox(minimum=0.0, maximum=100.0, value=1.0, singleStep=0.1, decimals=2)
        self.beta = QDoubleSpinBox(minimum=0.0, maximum=100.0, value=1.0, singleStep=0.1, decimals=2)
        for spin in (self.alpha, self.beta):
            spin.valueChanged.connect(lambda _v: self._reweigh())
        self.is_next = QCheckBox("B really follows A (IsNext)", checked=True)
        self.is_next.toggled.connect(lambda _on: self.result is not None and self.run())
        for label, widget in (
            ("Seed", self.seed),
            ("", self.reroll),
            ("α", self.alpha),
            ("β", self.beta),
            ("", self.is_next),
        ):
            if label:
                row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.layout_.addWidget(
            formula(
                "Masking: 15 % of the tokens are chosen; of those 80 % → [MASK], 10 % → a random token, 10 % "
                "unchanged. &nbsp; L<sub>MLM</sub> = −(1/|M|)·Σ<sub>i∈M</sub> log p(x<sub>i</sub> | masked text) "
                "&nbsp; L<sub>NSP</sub> = −log p(IsNext or NotNext | A, B) &nbsp; <b>L = α·L<sub>MLM</sub> + "
                "β·L<sub>NSP</sub></b>"
            )
        )
        self.layout_.addWidget(self.note)
        self.tokens_label = QLabel(wordWrap=True)
        self.tokens_label.setTextFormat(Qt.TextFormat.RichText)
        self.tokens_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_.addWidget(self.tokens_label)
        self.loss_label = formula("")
        self.layout_.addWidget(self.loss_label)
        self.bars = themed(TokenBars(y_title="−log p(original)"))
        self.table = table(
            ["position", "token", "what BERT did", "model sees", "p(original)", "loss", "model's guess"]
        )
        split = QSplitter()
        split.addWidget(self.bars)
        split.addWidget(self.table)
        split.setSizes([450, 600])
        self.layout_.addWidget(split, 1)
        self.figure = split

    def weights(self) -> Weights:
        return Weights(self.alpha.value(), self.beta.value(), self.seed.value(), self.is_next.isChecked())

    def job(self, loaded: Any, text: str, pair: str | None) -> tuple:
        missing = self.panel.missing_head(loaded, (HEAD_MLM,), "the pre-training objectives")
        if missing:
            raise UserError(missing)
        return objectives, (loaded, text, pair, self.weights()), {}

    def _reweigh(self) -> None:
        """α and β only weigh the two losses: no need to run the model again."""
        if self.result is not None:
            self.result = replace(
                self.result,
                weights=replace(self.result.weights, alpha=self.alpha.value(), beta=self.beta.value()),
            )
            self._draw_loss(self.result)

    def draw(self, o: Objectives) -> None:
        parts = []
        for i, token in enumerate(o.tokens):
            action = o.masking.actions[i]
            text = html.escape(token)
            if action:
                shown = html.escape(o.shown[i])
                parts.append(
                    f"<span style='color:{ACTION_COLOURS[action]}; font-weight:bold' title='{ACTION_NAMES[action]}'>"
                    f"{text}{'' if action == 'keep' else '→' + shown}</span>"
                )
            else:
                parts.append(text)
        legend = " &nbsp; ".join(
            f"<span style='color:{ACTION_COLOURS[a]}; font-weight:bold'>■</span> {html.escape(n)}"
            for a, n in ACTION_NAMES.items()
        )
        self.tokens_label.setText(f"Seed {o.weights.seed}: {' '.join(parts)}<br><small>{legend}</small>")
        labels = [f"{m.original}→{m.shown}" if m.action != "keep" else m.original for m in o.masked]
        self.bars.set_values([m.loss for m in o.masked], labels, title="loss on each chosen token")
        fill_table(
            self.table,
            [
                [
                    str(m.position),
                    m.original,
                    m.action,
                    m.shown,
                    fmt.percent(m.probability),
                    f"{m.loss:.3f}",
                    m.predicted,
                ]
                for m in o.masked
            ],
        )
        self._draw_loss(o)

    def _draw_loss(self, o: Objectives) -> None:
        w = o.weights
        lines = [f"L<sub>MLM</sub> = mean of {len(o.masked)} losses = <b>{o.l_mlm:.4f}</b>"]
        if o.l_nsp is not None:
            label = "IsNext" if w.is_next else "NotNext"
            lines.append(
                f"L<sub>NSP</sub> = −log p({label}) = <b>{o.l_nsp:.4f}</b> &nbsp; (P(IsNext) = {fmt.percent(o.p_is_next)})"
            )
            total = f"{w.alpha:g}·{o.l_mlm:.4f} + {w.beta:g}·{o.l_nsp:.4f}"
        else:
            total = f"{w.alpha:g}·{o.l_mlm:.4f}"
            note = o.note
            if "no next-sentence head" in note:
                loaded = self.panel.current_model()
                others = [m.key for m in self.panel.state.registry.models() if m.has_head(HEAD_NSP)]
                if loaded is not None and others:
                    note += f" Loaded models with one: {', '.join(others)}."
            lines.append(html.escape(note))
        lines.append(f"<b>L = α·L<sub>MLM</sub> + β·L<sub>NSP</sub> = {total} = {o.total:.4f}</b>")
        self.loss_label.setText("<br>".join(lines))

    def export_widget(self) -> Any:
        return self.figure
