"""The scored sentences as a sortable table: one model's scores, or two models' side by side (A and B)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem, QWidget

from lmstudio_app.core.score.sentences import SentenceScore
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.score.tables import (
    configure,
    fill,
    number_cell,
    selected_index,
    set_text_columns,
    text_cell,
)

COLUMNS = ("Log-prob", "Mean per token", "Perplexity")
COLUMN_HELP = (
    "The sentence's total (pseudo-)log-probability, natural log: higher (closer to 0) is more probable",
    "Log-probability per scored token: compares sentences of different lengths",
    "exp(-mean per token): how many equally likely choices the model hesitated between, on average",
)


class SentenceTable(QTableWidget):
    """Rows are sentences; selecting one emits its index in the scored list (whatever the sort order)."""

    picked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        configure(self, ["Sentence", *COLUMNS])
        self.itemSelectionChanged.connect(self._selection_changed)
        self._set_headers([""])

    def _set_headers(self, names: list[str]) -> None:
        prefixes = [""] if len(names) == 1 else ["A ", "B "][: len(names)]
        self.setColumnCount(1 + len(COLUMNS) * len(names))
        self.setHorizontalHeaderItem(0, QTableWidgetItem("Sentence"))
        for m, (prefix, name) in enumerate(zip(prefixes, names, strict=True)):
            for c, (title, help_text) in enumerate(zip(COLUMNS, COLUMN_HELP, strict=True)):
                item = QTableWidgetItem(prefix + title)
                item.setToolTip(f"{name}: {help_text}" if name else help_text)
                self.setHorizontalHeaderItem(1 + m * len(COLUMNS) + c, item)
        set_text_columns(self, 1)

    def show_results(self, results: list[list[SentenceScore]], names: list[str]) -> None:
        """`results[m][i]`: model m's score of sentence i; `names`: the models, A first."""
        self._set_headers(names)
        rows = []
        for i, first in enumerate(results[0]):
            row = [text_cell(first.text, i)]
            for scores in results:
                s = scores[i]
                row += [
                    number_cell(fmt.log_prob(s.log_prob), s.log_prob, i),
                    number_cell(fmt.log_prob(s.mean_log_prob), s.mean_log_prob, i),
                    number_cell(fmt.perplexity(s.perplexity), s.perplexity, i),
                ]
            rows.append(row)
        fill(self, rows)
        if rows:
            self.selectRow(0)

    def clear_results(self) -> None:
        fill(self, [])

    def _selection_changed(self) -> None:
        index = selected_index(self)
        if index is not None:
            self.picked.emit(index)
