"""One method's attribution for one text: the text coloured by score, a labelled bar chart, IG's delta.

The words whose output is explained (a tagger's word, a QA model's answer) are underlined and bold; a QA
model's question and passage are shown as two lines, and the question's bars are marked "Q:".
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGroupBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from lmstudio_app.core.explain.attribution import Explanation
from lmstudio_app.core.explain.methods import METHOD_NAMES
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
ROLLOUT_INTO = {  # the position whose attention rollout follows, per kind of explanation
    "class": "[CLS]",
    "candidate": "the mask",
    "tag": "the tagged word",
    "answer-start": "the answer's start",
    "answer-end": "the answer's end",
}


def items(result: Explanation, unit: str) -> tuple[list[str], np.ndarray]:
    """(labels, scores) per word or per token (special tokens included, so [CLS]/[SEP] show their share)."""
    if unit == "tokens":
        return list(result.tokens), np.asarray(result.token_scores, dtype=float)
    return list(result.words.words), np.asarray(result.words.scores, dtype=float)


def focus_items(result: Explanation, unit: str) -> set[int]:
    """The items (words, or their tokens) whose output is explained."""
    if unit != "tokens":
        return set(result.focus)
    return {t for t, w in enumerate(result.words.word_of_token) if w is not None and w in result.focus}


def coloured_html(
    labels: list[str], scores: np.ndarray, focus: set[int] | None = None, breaks: dict[int, str] | None = None
) -> str:
    """The items as paragraphs of spans whose background says the score's sign and size; `focus` items are
    bold and underlined, and `breaks` starts a new paragraph with a title before the items it names."""
    scale = float(np.abs(scores).max()) if len(scores) else 0.0
    fg = foreground().name()
    paragraphs: list[list[str]] = [[]]
    for i, (label, score) in enumerate(zip(labels, scores, strict=True)):
        if breaks and i in breaks:
            if paragraphs[-1]:
                paragraphs.append([])
            paragraphs[-1].append(f"<b>{html.escape(breaks[i])}</b>")
        colour = score_colour(float(score), scale).name()
        mark = " font-weight: bold; text-decoration: underline;" if focus and i in focus else ""
        paragraphs[-1].append(
            f"<span style='background-color:{colour}; color:{fg};{mark}'>&nbsp;{html.escape(label)}&nbsp;</span>"
        )
    return "".join(f"<p style='line-height: 160%;'>{' '.join(p)}</p>" for p in paragraphs)


def question_breaks(result: Explanation, unit: str) -> dict[int, str]:
    """Where a QA input's question and passage start among the items ({} for other kinds)."""
    if not result.question_words:
        return {}
    if unit != "tokens":
        return {0: "Question:", result.question_words: "Passage:"}
    owners = result.words.word_of_token
    first = next((t for t, w in enumerate(owners) if w is not None and w >= result.question_words), None)
    return {0: "Question:"} if first is None else {0: "Question:", first: "Passage:"}


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
        scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        scroll.setWidget(
            self.bars
        )  # a long input's bars scroll instead of growing the window past the screen
        layout.addWidget(scroll, 1)

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
        breaks = question_breaks(r, self.unit)
        self.text.setText(coloured_html(labels, scores, focus_items(r, self.unit), breaks))
        scale = float(np.abs(scores).max()) if len(scores) else 0.0
        if self.method == "rollout":
            self.legend.set_scale(
                scale,
                f"attention share flowing to {ROLLOUT_INTO.get(r.kind, 'the last token')}",
                signed=False,
            )
        else:
            self.legend.set_scale(scale, r.target)
        if r.question_words and self.unit != "tokens":  # the question's bars, apart from the passage's
            labels = [f"Q: {label}" if i < r.question_words else label for i, label in enumerate(labels)]
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
        text = f"Explained: {r.quantity} = {r.output:+.4f}"
        if r.method == "ig" and r.baseline_output is not None:
            total = float(np.sum(r.token_scores))
            text += (
                f", baseline {r.baseline_output:+.4f}. Sum of scores {total:+.4f}, convergence delta "
                f"{r.delta:+.2g} ({r.steps} steps)"
            )
        return text + f". Layer: {r.layer}."
