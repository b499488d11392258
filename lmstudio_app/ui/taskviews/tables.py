"""Read-only score tables of the results views: numbers right-aligned with three decimals."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem


def score_table(headers: list[str], stretch: int = 0) -> QTableWidget:
    """A table that fits its columns to their contents, column `stretch` taking the rest."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.verticalHeader().hide()
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table


def cell(value: Any) -> QTableWidgetItem:
    """A float as 0.000 (its value kept for sorting and tests), anything else as text (long text cut, whole
    in the tooltip)."""
    if isinstance(value, float):
        item = QTableWidgetItem(f"{value:.3f}")
        item.setData(Qt.ItemDataRole.UserRole, value)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item
    if isinstance(value, int):
        item = QTableWidgetItem(f"{value:,}")
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item
    text = str(value)
    item = QTableWidgetItem(text if len(text) <= 300 else text[:299] + "…")
    item.setToolTip(text[:2000])
    return item


def fill(table: QTableWidget, rows: list[list[Any]]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            table.setItem(r, c, cell(value))
