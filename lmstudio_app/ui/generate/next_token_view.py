"""The next-token distribution as a ranked table: token, probability with a bar, and a pick by click or Enter.

Picking a row asks the panel to append that token to the prompt; the table then ignores picks until the
new distribution arrives, so a double click can never append a second token from the old one.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.generate.next_token import Candidate
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.widgets.probability_delegate import ProbabilityBarDelegate

HEADERS = ["#", "Next token", "Probability"]


def visible_token(token: str) -> str:
    """A token as text a person can see: spaces as ␣ and line breaks as ↵ (a bare " " would look empty)."""
    return token.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥")


class NextTokenView(QGroupBox):
    """Top-k table (k adjustable) of the model's next token; `picked(Candidate)` on click or Enter."""

    picked = Signal(object)  # Candidate
    k_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Next token", parent)
        self.candidates: list[Candidate] = []
        self.waiting = False  # a pick was made: the rows are stale until the next distribution arrives
        self.k_spin = QSpinBox(minimum=1, maximum=100, value=10, prefix="top ")
        self.k_spin.setToolTip("How many of the most probable next tokens to list")
        self.k_spin.valueChanged.connect(self.k_changed)
        self.status = QLabel(wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.horizontalHeaderItem(2).setToolTip(
            "The model's probability of each token; the bars are drawn relative to the most probable one"
        )
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setItemDelegateForColumn(2, ProbabilityBarDelegate(self.table))
        self.table.setToolTip("Click a token (or press Enter on it) to append it to the prompt")
        self.table.cellClicked.connect(lambda row, _col: self.pick(row))
        self.table.installEventFilter(self)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.k_spin)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)

    def show_candidates(self, candidates: list[Candidate]) -> None:
        self.candidates = list(candidates)
        self.table.setRowCount(len(candidates))
        top = max((c.prob for c in candidates), default=0.0)  # bars relative to it: a flat tail still shows
        for r, candidate in enumerate(candidates):
            rank = QTableWidgetItem(str(r + 1))
            token = QTableWidgetItem(visible_token(candidate.token))
            token.setToolTip(f"token id {candidate.id}: {candidate.token!r}")
            prob = QTableWidgetItem(fmt.percent(candidate.prob))
            prob.setData(Qt.ItemDataRole.UserRole, candidate.prob / top if top > 0 else 0.0)
            for item in (rank, prob):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for c, item in enumerate((rank, token, prob)):
                self.table.setItem(r, c, item)
        self.waiting = False
        if candidates:
            self.table.setCurrentCell(0, 1)
        self.status.setText("Click a token (or press Enter on it) to append it." if candidates else "")

    def show_message(self, text: str) -> None:
        """Instead of a distribution (no model, an error) or above a stale one while the next is computed."""
        self.status.setText(text)

    def clear(self, text: str = "") -> None:
        self.candidates, self.waiting = [], False
        self.table.setRowCount(0)
        self.show_message(text)

    def pick(self, row: int) -> None:
        if not self.waiting and 0 <= row < len(self.candidates):
            self.waiting = True  # the focus stays here, so Enter steps on once the new rows are in
            self.show_message("Computing the next distribution…")
            self.picked.emit(self.candidates[row])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if (
            watched is self.table
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and not event.modifiers() & Qt.KeyboardModifier.ControlModifier  # Ctrl+Enter generates
        ):
            self.pick(self.table.currentRow())
            return True
        return super().eventFilter(watched, event)
