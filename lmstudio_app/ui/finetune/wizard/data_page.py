"""Step 1: open a table, show the detected encoding and delimiter (overridable), a preview and its problems."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWizardPage,
)

from lmstudio_app.ui.finetune.wizard.context import WizardContext
from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.theme import message_style

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]
DELIMITERS = {"Comma ( , )": ",", "Semicolon ( ; )": ";", "Tab": "\t", "Pipe ( | )": "|"}
FILE_FILTER = "Tables (*.csv *.tsv *.txt *.jsonl *.json *.xlsx);;All files (*)"
PREVIEW_ROWS = 100


def describe_delimiter(delimiter: str) -> str:
    names = {v: k.split(" (")[0].lower() for k, v in DELIMITERS.items()}
    return f"{names[delimiter]}-separated" if delimiter in names else "no delimiter (JSON lines or Excel)"


def _read(path: str, encoding: str | None, delimiter: str | None, *, state: Any) -> Any:
    from lmstudio_app.core.data.table import read_table

    return read_table(Path(path), encoding=encoding, delimiter=delimiter, state=state)


class DataPage(QWizardPage):
    """Next is enabled once a table with at least one data row has been read."""

    def __init__(self, ctx: WizardContext, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.loading = False
        self.error = ""
        self.setTitle("Data")
        self.setSubTitle("Open a CSV or TSV file (JSON lines and Excel work too) with one example per row.")
        self.path_edit = QLineEdit(placeholderText="a .csv, .tsv, .jsonl or .xlsx file")
        self.path_edit.returnPressed.connect(self.reload)
        browse = QPushButton("Open…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.encoding_combo = QComboBox()
        self.encoding_combo.addItem("Detect automatically", None)
        for name in ENCODINGS:
            self.encoding_combo.addItem(name, name)
        self.delimiter_combo = QComboBox()
        self.delimiter_combo.addItem("Detect automatically", None)
        for label, value in DELIMITERS.items():
            self.delimiter_combo.addItem(label, value)
        self.encoding_combo.activated.connect(self.reload)
        self.delimiter_combo.activated.connect(self.reload)
        overrides = QHBoxLayout()
        overrides.addWidget(QLabel("Encoding:"))
        overrides.addWidget(self.encoding_combo)
        overrides.addSpacing(12)
        overrides.addWidget(QLabel("Delimiter:"))
        overrides.addWidget(self.delimiter_combo)
        overrides.addStretch(1)
        form = QFormLayout()
        form.addRow("File:", row)
        form.addRow("Read as:", overrides)
        self.detected = QLabel(wordWrap=True)
        self.progress = QProgressBar(maximum=100, visible=False)
        self.preview_model = QStandardItemModel(self)
        self.preview = QTableView()
        self.preview.setModel(self.preview_model)
        self.preview.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        self.problems = QLabel(wordWrap=True)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.detected)
        layout.addWidget(self.progress)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.problems)
        layout.addStretch(0)
        self.loader = LatestOnly(self)

    # ---- actions ------------------------------------------------------------------------------------
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a table of examples", "", FILE_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path) -> None:
        """Read `path` with automatic detection (the overrides are reset)."""
        self.path_edit.setText(str(path))
        self.encoding_combo.setCurrentIndex(0)
        self.delimiter_combo.setCurrentIndex(0)
        self.reload()

    def reload(self) -> None:
        path = self.path_edit.text().strip()
        if not path:
            return
        self.ctx.table = None
        self.loading, self.error = True, ""
        self.progress.setValue(0)
        self.progress.show()
        self.detected.setText(f"Reading {Path(path).name}…")
        self.problems.setText("")
        worker = self.loader.submit(
            _read, path, self.encoding_combo.currentData(), self.delimiter_combo.currentData()
        )
        worker.progress.connect(lambda f, _m: self.progress.setValue(int(f * 100)) if f >= 0 else None)
        worker.result.connect(self._show_table)
        worker.error.connect(lambda message, _details: self._show_error(message))
        worker.start()
        self.completeChanged.emit()

    def _show_table(self, table: Any) -> None:
        self.loading = False
        self.progress.hide()
        self.ctx.table = table
        frame = table.frame
        encoding = table.encoding or "binary"
        self.detected.setText(
            f"<b>{len(frame):,} rows</b>, {len(frame.columns)} columns. Encoding: <b>{encoding}</b>; "
            f"delimiter: <b>{describe_delimiter(table.delimiter)}</b>. Change them above if the preview looks wrong."
        )
        self._fill_preview(frame)
        self.preview.show()
        problems = list(table.problems)
        if len(frame) == 0:
            self.error = "The file has a header but no data rows: add examples below the header line."
        self._show_problems(problems)
        self.completeChanged.emit()

    def _fill_preview(self, frame: Any) -> None:
        head = frame.head(PREVIEW_ROWS)
        self.preview_model.clear()
        self.preview_model.setHorizontalHeaderLabels([str(c) for c in head.columns])
        for values in head.itertuples(index=False):
            items = []
            for value in values:
                text = str(value)
                item = QStandardItem(text if len(text) <= 200 else text[:199] + "…")
                item.setToolTip(text[:2000])
                items.append(item)
            self.preview_model.appendRow(items)
        # Short columns (labels, ids) fit their contents; the column with the longest texts takes the rest.
        header = self.preview.horizontalHeader()
        header.setStretchLastSection(False)
        self.preview.resizeColumnsToContents()
        lengths = [head[c].astype(str).str.len().mean() if len(head) else 0 for c in head.columns]
        widest = max(range(len(lengths)), key=lengths.__getitem__, default=-1)
        for col in range(len(head.columns)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            self.preview.setColumnWidth(col, min(self.preview.columnWidth(col), 320))
        if widest >= 0:
            header.setSectionResizeMode(widest, QHeaderView.ResizeMode.Stretch)

    def _show_error(self, message: str) -> None:
        self.loading = False
        self.progress.hide()
        self.ctx.table = None
        self.error = message
        self.detected.setText("")
        self.preview_model.clear()
        self.preview.hide()
        self._show_problems([])
        self.completeChanged.emit()

    def _show_problems(self, problems: list[str]) -> None:
        lines = []
        if self.error:
            lines.append(
                f"<span style='{message_style('error')}'><b>Cannot use this file:</b> {html.escape(self.error)}</span>"
            )
        lines += [f"• {html.escape(p)}" for p in problems]
        self.problems.setText("<br>".join(lines) if lines else "No problems found.")

    # ---- QWizardPage ---------------------------------------------------------------------------------
    def isComplete(self) -> bool:  # noqa: N802 (Qt's name)
        table = self.ctx.table
        return not self.loading and not self.error and table is not None and len(table.frame) > 0

    def validatePage(self) -> bool:  # noqa: N802
        return self.isComplete()
