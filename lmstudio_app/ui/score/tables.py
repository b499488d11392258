"""The Score tab's tables: read-only, sortable by the numbers behind the texts, long sentences elided.

A cell shows a formatted number ("-23.45") but sorts by the number itself, and every row remembers
the index of its result, so a sorted table still maps a selected row to the right sentence or pair.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

ROW_ROLE = Qt.ItemDataRole.UserRole  # the result's index, on every cell
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # the number a numeric cell sorts by


class Cell(QTableWidgetItem):
    """A cell that sorts by its number when it has one, else by its text."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if mine is not None and theirs is not None:
            return float(mine) < float(theirs)
        return self.text() < other.text()


def make_table(headers: list[str], text_columns: int = 1) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    configure(table, headers, text_columns)
    return table


def configure(table: QTableWidget, headers: list[str], text_columns: int = 1) -> None:
    """Read-only, one selected row, sortable; the first `text_columns` columns share the width (eliding
    in the middle of long sentences, the whole text in the tooltip), number columns fit their contents."""
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSortIndicator(
        -1, Qt.SortOrder.AscendingOrder
    )  # the results' order until a click
    table.setSortingEnabled(True)
    set_text_columns(table, text_columns)


def set_text_columns(table: QTableWidget, text_columns: int) -> None:
    header = table.horizontalHeader()
    for column in range(table.columnCount()):
        mode = (
            QHeaderView.ResizeMode.Stretch
            if column < text_columns
            else QHeaderView.ResizeMode.ResizeToContents
        )
        header.setSectionResizeMode(column, mode)


def text_cell(text: str, row: int) -> Cell:
    item = Cell(text)
    item.setToolTip(text)
    item.setData(ROW_ROLE, row)
    return item


def number_cell(text: str, value: float, row: int) -> Cell:
    item = Cell(text)
    item.setData(ROW_ROLE, row)
    item.setData(SORT_ROLE, float(value))
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def fill(table: QTableWidget, rows: list[list[Cell]]) -> None:
    """Replace the table's rows, keeping its sort order (sorting is switched off while filling)."""
    sorting = table.isSortingEnabled()
    table.setSortingEnabled(False)
    table.clearContents()
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, item in enumerate(row):
            table.setItem(r, c, item)
    table.setSortingEnabled(sorting)


def selected_index(table: QTableWidget) -> int | None:
    """The result index of the selected row, whatever the sort order."""
    items = table.selectedItems()
    return None if not items else int(items[0].data(ROW_ROLE))


def two_line_rows(table: QTableWidget) -> None:
    """Rows two lines tall with wrapped text: a sentence pair reads in full at 1024 pixels wide, without
    measuring every row (slow for the 1,508 CrowS-Pairs rows); longer text ends in an ellipsis."""
    table.setWordWrap(True)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.verticalHeader().setDefaultSectionSize(2 * table.fontMetrics().lineSpacing() + 8)
