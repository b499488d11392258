"""The first wizard page of the word-tags and question-answering paths: a file picked or typed, read by a
worker, what was detected, a preview, and every problem listed below; Next stays off until it is usable.

Each page gives its reading job, its preview and its checks; this base holds the file row, the reading
state and the problems box, so both pages read, fail and report the same way.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.theme import message_style


def notes_html(notes: list[tuple[str, str]]) -> str:
    """(kind, text) notes as lines: errors, warnings and "ok" in their theme colour, info as plain text."""
    return "<br>".join(
        f"<span style='{message_style(kind)}'>{html.escape(text)}</span>"
        if kind != "info"
        else html.escape(text)
        for kind, text in notes
    )


def listed_errors(errors: list[str], count: int, heading: str) -> list[tuple[str, str]]:
    """The error notes of a file's broken items: `heading`, one bullet each, "… and N more" past the listed."""
    notes = [("error", heading)] + [("error", f"• {e}") for e in errors]
    if count > len(errors):
        notes.append(("error", f"• … and {count - len(errors):,} more"))
    return notes


class FileDataPage(QWizardPage):
    """A page that reads one file in a worker; `FILE_FILTER` and `OPEN_TITLE` name what the Open… dialog
    asks for."""

    FILE_FILTER = "All files (*)"
    OPEN_TITLE = "Open a file"
    NO_PROBLEMS = "No problems found."  # shown when no note is an error or a warning

    def __init__(self, ctx: Any, placeholder: str, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.loading = False
        self.error = ""
        self.read: Any = None
        self.path_edit = QLineEdit(placeholderText=placeholder)
        self.path_edit.returnPressed.connect(self.reload)
        browse = QPushButton("Open…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.form = QFormLayout()
        self.form.addRow("File:", row)
        self.detected = QLabel(wordWrap=True)
        self.progress = QProgressBar(maximum=0, visible=False)  # busy: reading has no figures to show
        self.problems = QTextBrowser()
        self.problems.setMaximumHeight(110)
        self.loader = LatestOnly(self)

    def _lay_out(self, preview: QWidget) -> None:
        """The file row and the page's own rows, what was detected, the preview, the problems."""
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.detected)
        layout.addWidget(self.progress)
        layout.addWidget(preview, 1)
        layout.addWidget(self.problems)

    # ---- actions ------------------------------------------------------------------------------------
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.OPEN_TITLE, "", self.FILE_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path) -> None:
        self.path_edit.setText(str(path))
        self.reload()

    def reload(self) -> None:
        raise NotImplementedError

    def _start_read(self, path: str, job: Any, *args: Any) -> None:
        """Forget the last file and read `path` with `job(path, *args)`; `_show` gets its result."""
        self.ctx.data, self.read = None, None
        self.loading, self.error = True, ""
        self.progress.show()
        self.detected.setText(f"Reading {html.escape(Path(path).name)}…")
        self.problems.setHtml("")
        worker = self.loader.submit(job, path, *args)
        worker.result.connect(self._show)
        worker.error.connect(lambda message, _details: self._show_error(message))
        worker.start()
        self.completeChanged.emit()

    # ---- showing --------------------------------------------------------------------------------------
    def _take(self, read: Any) -> None:
        """Keep what the worker read, the file's data and its full path on the context."""
        self.loading = False
        self.progress.hide()
        self.read = read
        if read.data is not None:
            self.ctx.data = read.data
            self.ctx.data_path = str(Path(self.path_edit.text().strip()).resolve())

    def _show(self, read: Any) -> None:
        raise NotImplementedError

    def _show_error(self, message: str) -> None:
        self.loading = False
        self.progress.hide()
        self.ctx.data = None
        self.error = message
        self.detected.setText("")
        self._clear_preview()
        self._show_problems()
        self.completeChanged.emit()

    def _clear_preview(self) -> None:
        raise NotImplementedError

    def problem_lines(self) -> list[tuple[str, str]]:
        """(kind, text) of every note: error (blocks Next), warning, or info."""
        return [("error", f"Cannot use this file: {self.error}")] if self.error else []

    def _show_problems(self) -> None:
        notes = self.problem_lines()
        if not any(kind in ("error", "warning") for kind, _ in notes):
            notes.insert(0, ("ok", self.NO_PROBLEMS))
        self.problems.setHtml(notes_html(notes))

    # ---- QWizardPage ---------------------------------------------------------------------------------
    def validatePage(self) -> bool:  # noqa: N802 (Qt's name)
        return self.isComplete()
