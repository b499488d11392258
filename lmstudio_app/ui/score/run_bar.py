"""Run, Cancel, a progress bar and a status line: how every Score sub-tab starts and follows a Worker.

One widget so that the four sub-tabs run, cancel, fail and say "Cancelled." the same way; the Run
button is off while a run is going and back on whatever its outcome (Worker.finished is always last).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.theme import message_style

SHORTCUT = "Ctrl+Return"


class RunBar(QWidget):
    """`run` is emitted by the button or Ctrl+Enter; the owner then calls `start(fn, ..., on_result=...)`."""

    run = Signal()

    def __init__(self, label: str, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.latest = LatestOnly(self)
        self._last_message = ""
        self.run_button = QPushButton(f"{label} (Ctrl+Enter)")
        self.run_button.setToolTip(what)
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar(maximum=1000, textVisible=False)
        self.progress.setFixedWidth(140)
        self.status = QLabel(wordWrap=True)  # a long error wraps instead of widening the window
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        shortcut = QShortcut(QKeySequence(SHORTCUT), self, activated=self._shortcut)
        shortcut.setWhatsThis(what)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.run_button)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.status, 1)

    def _shortcut(self) -> None:
        if self.run_button.isEnabled():
            self.run.emit()

    def start(
        self, fn: Callable[..., Any], *args: Any, on_result: Callable[[Any], None], **kwargs: Any
    ) -> None:
        """Run `fn(*args, **kwargs, state=...)` on a worker; `on_result` gets its value on the GUI thread."""
        worker = self.latest.submit(fn, *args, **kwargs)
        worker.progress.connect(self._progress)
        worker.result.connect(lambda value: self._done(value, on_result))
        worker.error.connect(lambda message, _details: self.say("error", message))
        worker.cancelled.connect(lambda: self.say("", "Cancelled."))
        worker.finished.connect(self._finished)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self._last_message = ""
        self.say("", "Working…")
        worker.start()

    def cancel(self) -> None:
        self.latest.cancel()
        self.say("", "Cancelling…")

    def say(self, kind: str, text: str) -> None:
        """A status line: plain, or an `error`/`warning`/`ok` message in the theme's colour."""
        self.status.setStyleSheet(message_style(kind) if kind else "")
        self.status.setText(text)

    def _progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(max(0.0, fraction) * 1000))
        if message:
            self._last_message = message
            self.say("", message)

    def _done(self, value: Any, on_result: Callable[[Any], None]) -> None:
        self.progress.setValue(1000)
        self.say("", self._last_message)  # the core's last word ("scored 4 sentences"), else nothing
        on_result(value)

    def _finished(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
