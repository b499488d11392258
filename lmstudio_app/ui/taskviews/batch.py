"""Predict a whole file with a trained model: pick the input (and a table's text column) and the output,
Run in the background with progress, Cancel at any time; the outcome is said in one line.

The job is the owner's: `job(input, column, output, *, state)` returns what `describe(result)` puts in
words. The output path is checked before any work, so a bad name never costs a prediction run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QWidget,
)

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.outputs import check_output_file
from lmstudio_app.ui.qthreading import LatestOnly, Worker
from lmstudio_app.ui.sizing import compact_combo
from lmstudio_app.ui.theme import message_style

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".jsonl", ".json")
TEXT_COLUMNS = ("text", "sentence", "content", "body", "review", "comment", "title")


def _columns_job(path: str, *, state: Any) -> list[str]:
    from lmstudio_app.core.data.table import read_table

    return read_table(Path(path), state=state).columns


class BatchBox(QGroupBox):
    """Input, optional column, output, Run / Cancel, progress and a status line."""

    succeeded = Signal(object)  # the job's result, once written

    def __init__(
        self,
        title: str,
        job: Callable[..., Any],
        describe: Callable[[Any], str],
        *,
        input_filter: str,
        output_filter: str,
        output_suffix: Callable[[str], str],
        uses_column: Callable[[str], bool] = lambda _path: False,
        formats: tuple[str, ...] | Callable[[str], tuple[str, ...] | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, parent)
        self.job, self.describe = job, describe
        self.input_filter, self.output_filter = input_filter, output_filter
        self.output_suffix, self.uses_column, self.formats = output_suffix, uses_column, formats
        self.input_edit = QLineEdit(placeholderText="the file to predict")
        self.input_edit.editingFinished.connect(self._input_changed)
        pick_in = QPushButton("Open…")
        pick_in.clicked.connect(self._browse_input)
        self.column_label = QLabel("Text column:")
        self.column_combo = compact_combo(QComboBox(), 14)
        self.output_edit = QLineEdit(placeholderText="where to write the predictions")
        pick_out = QPushButton("Save as…")
        pick_out.clicked.connect(self._browse_output)
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar(maximum=1000, textVisible=False, visible=False)  # shown while running
        self.progress.setFixedWidth(120)
        self.status = QLabel(wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid = QGridLayout(self)
        grid.addWidget(QLabel("Input:"), 0, 0)
        grid.addWidget(self.input_edit, 0, 1)
        grid.addWidget(pick_in, 0, 2)
        grid.addWidget(self.column_label, 0, 3)
        grid.addWidget(self.column_combo, 0, 4)
        grid.addWidget(QLabel("Output:"), 1, 0)
        grid.addWidget(self.output_edit, 1, 1)
        grid.addWidget(pick_out, 1, 2)
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress)
        grid.addLayout(row, 1, 3, 1, 2)
        grid.addWidget(self.status, 2, 0, 1, 5)
        grid.setColumnStretch(1, 1)
        self._show_column(False)
        self.latest = LatestOnly(self)
        self.columns_reader = LatestOnly(self)

    # ---- choosing files ------------------------------------------------------------------------------
    def _browse_input(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.title(), "", self.input_filter)
        if path:
            self.set_input(path)

    def _browse_output(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the predictions as", self.output_edit.text(), self.output_filter
        )
        if path:
            self.output_edit.setText(path)

    def set_input(self, path: str | Path, column: str | None = None) -> Worker | None:
        """Take `path` as the input (its columns are read when it is a table) and suggest an output."""
        self.input_edit.setText(str(path))
        return self._input_changed(column)

    def _input_changed(self, column: str | None = None) -> Worker | None:
        path = self.input_edit.text().strip()
        if not path:
            return None
        if not self.output_edit.text().strip():
            source = Path(path)
            self.output_edit.setText(str(source.with_name(source.stem + self.output_suffix(path))))
        self.column_combo.clear()
        if not self.uses_column(path):
            self._show_column(False)
            return None
        self._show_column(True)
        worker = self.columns_reader.submit(_columns_job, path)
        worker.result.connect(lambda columns: self._set_columns(columns, column))
        worker.error.connect(lambda message, _d: self.say("error", message))
        return worker.start()

    def _set_columns(self, columns: list[str], wanted: str | None) -> None:
        self.column_combo.clear()
        self.column_combo.addItems(columns)
        guess = wanted if wanted in columns else next((c for c in columns if c.lower() in TEXT_COLUMNS), None)
        if guess:
            self.column_combo.setCurrentText(guess)

    def _show_column(self, on: bool) -> None:
        self.column_label.setVisible(on)
        self.column_combo.setVisible(on)

    # ---- running --------------------------------------------------------------------------------------
    def run(self) -> Worker | None:
        path, out = self.input_edit.text().strip(), self.output_edit.text().strip()
        column = self.column_combo.currentText() if self.uses_column(path) else None
        return self.start(path, out, column or None)

    def start(self, path: str | Path, out: str | Path, column: str | None = None) -> Worker | None:
        """Predict `path` into `out` (`column`: a table's text column); None when a path is refused."""
        path, out = str(path).strip(), str(out).strip()
        if not path or not out:
            self.say("error", "Choose the file to predict and where to write the predictions.")
            return None
        formats = self.formats(path) if callable(self.formats) else self.formats
        try:
            check_output_file(out, formats)
        except UserError as exc:
            self.say("error", str(exc))
            return None
        if self.uses_column(path) and not column:
            self.say("error", "Choose the column that holds the texts.")
            return None
        worker = self.latest.submit(self.job, path, column, out)
        worker.progress.connect(self._progress)
        worker.result.connect(self._done)
        worker.error.connect(lambda message, _d: self.say("error", message))
        worker.cancelled.connect(lambda: self.say("", "Cancelled: nothing was written."))
        worker.finished.connect(self._finished)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)  # busy until the first figure arrives (loading the model)
        self.progress.show()
        self.say("", f"Predicting {Path(path).name}…")
        return worker.start()

    def cancel(self) -> None:
        self.latest.cancel()
        self.say("", "Cancelling…")

    def say(self, kind: str, text: str) -> None:
        self.status.setStyleSheet(message_style(kind) if kind else "")
        self.status.setText(text)

    def _progress(self, fraction: float, message: str) -> None:
        if fraction >= 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(round(fraction * 1000))
        if message:
            self.status.setStyleSheet("")
            self.status.setText(message)

    def _done(self, result: Any) -> None:
        self.say("ok", self.describe(result))
        self.succeeded.emit(result)

    def _finished(self) -> None:
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.hide()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
