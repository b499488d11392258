"""One model's masked-word predictions: a view per mask (table + bars), joint sentences, target words."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.fillmask.predict import FillMaskResult
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.explain.hooks import add_explain_action
from lmstudio_app.ui.widgets.candidate_bars import CandidateBars


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return table


def _fill_rows(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c > 0:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


def _fit_height(table: QTableWidget, most: int = 330) -> None:
    """As tall as its rows (up to `most`), so results stack without a scroll bar inside a scroll bar."""
    rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
    table.setFixedHeight(min(table.horizontalHeader().height() + rows + 4, most))


class MaskView(QGroupBox):
    """One mask's candidates: a table and a bar chart; clicking either picks the word."""

    picked = Signal(int, str)  # mask index, word
    explain = Signal(int, str)  # mask index, word: right-click "Explain this candidate…"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = 0
        self.words: list[str] = []
        self.table = _table(["Word", "Probability"])
        self.table.setToolTip("Click a word to put it into the sentence")
        self.table.cellClicked.connect(lambda row, _col: self._pick(row))
        add_explain_action(
            self.table, "Explain this candidate…", lambda r: self.explain.emit(self.index, self.words[r])
        )
        self.bars = CandidateBars()
        self.bars.picked.connect(self._pick)
        layout = QHBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.bars, 1)

    def show_candidates(self, index: int, title: str, words: list[str], scores: list[float]) -> None:
        self.index, self.words = index, words
        self.setTitle(title)
        _fill_rows(self.table, [[w, fmt.percent(s)] for w, s in zip(words, scores, strict=True)])
        _fit_height(self.table)
        self.bars.setFixedHeight(max(self.table.height(), 140))
        self.bars.set_candidates(words, scores)

    def _pick(self, row: int) -> None:
        if 0 <= row < len(self.words):
            self.picked.emit(self.index, self.words[row])


class ResultView(QWidget):
    """One model's predictions for the text: per-mask views, joint sentences and target words."""

    picked = Signal(int, str)  # mask index, word
    explain = Signal(int, str)  # mask index, word: right-click "Explain this candidate…"
    sentence_picked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        self.message = QLabel(wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel(fmt.PROBABILITY_NOTE, wordWrap=True)
        self.note.setStyleSheet("color: palette(mid);")
        self.mask_views: list[MaskView] = []
        self.sentences = _table(["Complete sentence", "Joint probability"])
        self.sentences.setToolTip(
            "Joint mode: the most confident mask is filled first, then the model runs again; the joint "
            "probability is the product of the steps' probabilities. Click a sentence to take it."
        )
        self.sentences.cellClicked.connect(self._sentence_clicked)
        self.sentences_box = self._boxed("Best complete sentences (joint)", self.sentences)
        self.targets = _table(["Target", "Mask", "Pieces", "Probability", "Rank"])
        self.targets_box = self._boxed("Target words", self.targets)
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.sentences_box)  # first: in joint mode the complete sentences are the answer
        self.body = QVBoxLayout()
        outer.addLayout(self.body)
        outer.addWidget(self.targets_box)
        outer.addStretch(1)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        layout.addWidget(self.note)
        layout.addWidget(scroll, 1)
        self.result: FillMaskResult | None = None
        self.show_message("")

    @staticmethod
    def _boxed(title: str, table: QTableWidget) -> QGroupBox:
        box = QGroupBox(title)
        QVBoxLayout(box).addWidget(table)
        return box

    def show_message(self, text: str) -> None:
        """Shown instead of results (no model, no mask...) or above them while predicting."""
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.note.setVisible(not text and self.result is not None)

    def clear(self) -> None:
        self.result = None
        for view in self.mask_views:
            view.hide()
        self.sentences_box.hide()
        self.targets_box.hide()
        self.note.hide()

    def show_result(self, result: FillMaskResult) -> None:
        self.result = result
        self.show_message("")
        while len(self.mask_views) < len(result.masks):
            view = MaskView()
            view.picked.connect(self.picked)
            view.explain.connect(self.explain)
            self.body.insertWidget(len(self.mask_views), view)
            self.mask_views.append(view)
        for view in self.mask_views[len(result.masks) :]:
            view.hide()
        many = len(result.masks) > 1
        for view, mask in zip(self.mask_views, result.masks, strict=False):
            pieces = f", a word of {mask.span.pieces} pieces" if mask.span.pieces > 1 else ""
            title = f"Mask {mask.index + 1}{pieces}" if many or pieces else f"Mask{pieces}"
            view.show_candidates(
                mask.index, title, [c.token for c in mask.candidates], [c.score for c in mask.candidates]
            )
            view.show()
        self.sentences_box.setVisible(result.mode == "joint")
        _fill_rows(self.sentences, [[s.text, fmt.percent(s.score)] for s in result.sentences])
        _fit_height(self.sentences, 240)
        self.targets_box.setVisible(bool(result.targets))
        _fill_rows(
            self.targets,
            [
                [
                    t.word,
                    str(t.mask + 1),
                    " ".join(t.pieces),
                    t.note if t.score is None else fmt.percent(t.score),
                    "" if t.rank is None else str(t.rank),
                ]
                for t in result.targets
            ],
        )
        _fit_height(self.targets, 240)

    def _sentence_clicked(self, row: int, _col: int) -> None:
        if self.result is not None and 0 <= row < len(self.result.sentences):
            self.sentence_picked.emit(self.result.sentences[row].text)
