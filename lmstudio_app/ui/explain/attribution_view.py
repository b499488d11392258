"""One method's attribution for one text: the text coloured by score, a labelled bar chart, IG's delta."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from lmstudio_app.core.explain.attribution import METHOD_NAMES, Explanation
from lmstudio_app.ui.explain.colours import (
    NEGATIVE,
    POSITIVE,
    ColourLegend,
    background,
    foreground,
    score_colour,
)
from lmstudio_app.ui.plot_theme import show_grid

MAX_BARS = 40  # longer inputs show their strongest items (in text order) so every bar keeps its label
WARN_STYLE = "color: #d35400; font-weight: bold;"


def items(result: Explanation, unit: str) -> tuple[list[str], np.ndarray]:
    """(labels, scores) per word or per token (special tokens included, so [CLS]/[SEP] show their share)."""
    if unit == "tokens":
        return list(result.tokens), np.asarray(result.token_scores, dtype=float)
    return list(result.words.words), np.asarray(result.words.scores, dtype=float)


def coloured_html(labels: list[str], scores: np.ndarray) -> str:
    """The items as one paragraph of spans whose background says the score's sign and size."""
    scale = float(np.abs(scores).max()) if len(scores) else 0.0
    fg = foreground().name()
    spans = []
    for label, score in zip(labels, scores, strict=True):
        colour = score_colour(float(score), scale).name()
        spans.append(
            f"<span style='background-color:{colour}; color:{fg};'>&nbsp;{html.escape(label)}&nbsp;</span>"
        )
    return f"<p style='line-height: 160%;'>{' '.join(spans)}</p>"


class AttributionBars(pg.PlotWidget):
    """Horizontal bars, one per item, labelled with the item's text, read top to bottom like the text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMinimumHeight(180)
        self.getPlotItem().getAxis("bottom").enableAutoSIPrefix(False)
        show_grid(self.getPlotItem(), x=True, alpha=0.25)
        self.labels: list[str] = []
        self.scores = np.zeros(0)
        self.note = ""

    def set_items(self, labels: list[str], scores: np.ndarray) -> None:
        order = np.arange(len(scores))
        self.note = ""
        if len(scores) > MAX_BARS:
            order = np.sort(np.argsort(-np.abs(scores), kind="stable")[:MAX_BARS])
            self.note = f"the {MAX_BARS} largest |scores| of {len(scores)}"
        self.labels = [labels[i] for i in order]
        self.scores = np.asarray(scores, dtype=float)[order]
        self.restyle()

    def restyle(self) -> None:
        """Draw (again) in the current theme's colours."""
        plot = self.getPlotItem()
        plot.clear()
        self.setBackground(background())
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            axis.setPen(foreground())
            axis.setTextPen(foreground())
        n = len(self.scores)
        plot.setTitle(self.note, color=foreground().name(), size="8pt")
        if not n:
            return
        ys = np.arange(n)[::-1].astype(float)  # first item on top
        brushes = [pg.mkBrush(POSITIVE if s >= 0 else NEGATIVE) for s in self.scores]
        plot.addItem(pg.BarGraphItem(x0=0, y=ys, height=0.75, width=self.scores, brushes=brushes, pen=None))
        plot.addLine(x=0, pen=pg.mkPen(foreground(), width=1))
        short = [
            (float(y), t if len(t) <= 18 else t[:17] + "…") for y, t in zip(ys, self.labels, strict=True)
        ]
        plot.getAxis("left").setTicks([short])
        top = float(np.abs(self.scores).max()) or 1.0
        plot.setXRange(
            -top if self.scores.min() < 0 else 0, top if self.scores.max() > 0 else 0, padding=0.08
        )
        plot.setYRange(-0.6, n - 0.4, padding=0)
        self.setMinimumHeight(min(900, 40 + 18 * n))


class AttributionView(QGroupBox):
    """A method's result: coloured text, colour legend, bars, and the numbers that qualify it."""

    def __init__(self, method: str, parent: QWidget | None = None) -> None:
        super().__init__(METHOD_NAMES[method], parent)
        self.method = method
        self.result: Explanation | None = None
        self.unit = "words"
        self.text = QLabel(wordWrap=True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.legend = ColourLegend()
        self.bars = AttributionBars()
        self.info = QLabel(wordWrap=True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning = QLabel(wordWrap=True)
        self.warning.setStyleSheet(WARN_STYLE)
        self.warning.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.legend)
        layout.addWidget(self.info)
        layout.addWidget(self.warning)
        layout.addWidget(self.bars, 1)

    def show_result(self, result: Explanation, unit: str) -> None:
        self.result, self.unit = result, unit
        self.redraw()

    def show_message(self, message: str) -> None:
        self.result = None
        self.text.setText(html.escape(message))
        self.info.setText("")
        self.warning.hide()
        self.bars.set_items([], np.zeros(0))

    def redraw(self) -> None:
        """Re-render for a new unit (words/tokens) or theme."""
        if self.result is None:
            self.bars.restyle()
            self.legend.update()
            return
        r = self.result
        labels, scores = items(r, self.unit)
        self.text.setText(coloured_html(labels, scores))
        scale = float(np.abs(scores).max()) if len(scores) else 0.0
        if self.method == "rollout":
            where = {"class": "[CLS]", "candidate": "the mask"}.get(r.kind, "the last token")
            self.legend.set_scale(scale, f"attention share flowing to {where}", signed=False)
        else:
            self.legend.set_scale(scale, r.target)
        self.bars.set_items(labels, scores)
        self.info.setText(self._info(r))
        self.info.setToolTip(
            f"Attributed at the {r.layer}: the token vectors the first Transformer layer receives, so a "
            f"positive score pushes towards {r.target}"
            if r.layer
            else ""
        )
        warning = r.delta_warning()
        self.warning.setText(warning)
        self.warning.setVisible(bool(warning))

    def _info(self, r: Explanation) -> str:
        if self.method == "rollout":
            return (
                "Share of the explained position's attention that flows from each token (no sign, sums to 1)."
            )
        a, _, b = r.target.partition(" vs ")
        nxt = "next = " if r.kind == "next-token" else ""
        text = f"Explained: log P({nxt}{a})" + (f" - log P({nxt}{b})" if b else "") + f" = {r.output:+.4f}"
        if r.method == "ig" and r.baseline_output is not None:
            total = float(np.sum(r.token_scores))
            text += (
                f", baseline {r.baseline_output:+.4f}. Sum of scores {total:+.4f}, convergence delta "
                f"{r.delta:+.2g} ({r.steps} steps)"
            )
        return text + f". Layer: {r.layer}."
