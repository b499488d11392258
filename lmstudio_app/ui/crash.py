"""Unhandled exceptions from any thread: logged to a file and shown in a dialog; the app keeps running."""

from __future__ import annotations

import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app import APP_DISPLAY_NAME, __version__
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.logs import log_file, setup_logging


class CrashDialog(QDialog):
    """Shows a copyable report and where the log file is."""

    def __init__(self, report: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Something went wrong")
        self.setMinimumSize(640, 380)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "An unexpected error happened. The app keeps running; your work is not lost. "
            f"This report was also written to {log_file()}. Copy it into a bug report if it happens again."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.text = QPlainTextEdit(report, readOnly=True)
        layout.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy report")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(report))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class CrashReporter(QObject):
    """Installs sys.excepthook and threading.excepthook; reports reach the GUI thread as a signal."""

    reported = Signal(str)
    refused = Signal(str)  # a UserError (an unwritable file, a damaged model): a message, not a crash

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.logger = setup_logging()
        self.dialogs: list[CrashDialog] = []
        self.reported.connect(self._show)
        self.refused.connect(self._show_message)
        self.messages: list[QMessageBox] = []

    def install(self) -> None:
        sys.excepthook = self.handle
        threading.excepthook = lambda args: self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    def handle(
        self, exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        if issubclass(exc_type, UserError):  # said in one line by the core: the user can act on it
            self.logger.warning("%s", exc)
            self.refused.emit(str(exc))
            return
        report = f"lmstudio_app {__version__}, Python {sys.version.split()[0]}\n" + "".join(
            traceback.format_exception(exc_type, exc, tb)
        )
        self.logger.error("Unhandled exception\n%s", report)
        self.reported.emit(report)  # queued to the GUI thread when raised elsewhere

    def _show(self, report: str) -> None:
        dialog = CrashDialog(report)
        self.dialogs.append(dialog)
        dialog.finished.connect(lambda _: self.dialogs.remove(dialog))
        dialog.show()

    def _show_message(self, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, APP_DISPLAY_NAME, message, QMessageBox.StandardButton.Ok)
        box.setModal(False)
        self.messages.append(box)
        box.finished.connect(lambda _: self.messages.remove(box))
        box.show()
