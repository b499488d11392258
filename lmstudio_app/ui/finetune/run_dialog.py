"""One run from the runs list in a window of its own: its live training when resumed, then its results.

Every job kind (fine-tune, pre-training) brings its train view, results view and result loader; resuming,
reading the results off the GUI thread, errors and "stop the training?" on close are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QStackedWidget, QVBoxLayout, QWidget

from lmstudio_app.ui.finetune.train_view import TrainView
from lmstudio_app.ui.qthreading import Worker
from lmstudio_app.ui.sizing import fit_to_screen
from lmstudio_app.ui.theme import message_style


def add_close(dialog: QDialog, layout: QVBoxLayout) -> QDialogButtonBox:
    """A Close button, and Escape closes too (the plots would otherwise take the key)."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), dialog, activated=dialog.reject)
    escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    return buttons


def _load_result_job(load: Callable[[Path], Any], run_dir: Path, *, state: Any) -> Any:
    state.progress(-1, "Reading the run's results")
    return load(run_dir)


class RunDialog(QDialog):
    """`load_result(run_dir)` reopens a finished run's result for `results_view.set_result`."""

    def __init__(
        self,
        run_dir: Path,
        views: tuple[TrainView, QWidget],
        load_result: Callable[[Path], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        fit_to_screen(self, QSize(1000, 720))
        self.train_view, self.results_view = views
        self._load_result = load_result
        self.train_view.succeeded.connect(self.show_result)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.train_view)
        self.stack.addWidget(self.results_view)
        self.message = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.stack, 1)
        self.buttons = add_close(self, layout)

    def resume(self) -> None:
        from lmstudio_app.core.training.record import RunRecord

        self.stack.setCurrentWidget(self.train_view)
        self.train_view.start_resume(self.run_dir, history=RunRecord(self.run_dir).history())

    def follow(self) -> bool:
        """Show the run live: it trains in a process started earlier (False: it is no longer training)."""
        from lmstudio_app.core.training.record import RunRecord

        self.stack.setCurrentWidget(self.train_view)
        return self.train_view.follow(self.run_dir, RunRecord(self.run_dir).history())

    def open_results(self) -> Worker:
        self.message.setText("Reading the results…")
        worker = Worker(_load_result_job, self._load_result, self.run_dir)
        worker.result.connect(self.show_result)
        worker.error.connect(lambda message, _d: self._error(message))
        return worker.start()

    def show_result(self, result: Any) -> None:
        self.message.setText("")
        self.results_view.set_result(result)
        self.stack.setCurrentWidget(self.results_view)

    def _error(self, message: str) -> None:
        self.message.setStyleSheet(message_style("error"))
        self.message.setText(message)

    @property
    def training(self) -> bool:
        return self.train_view.busy

    def reject(self) -> None:
        """Closing while the run trains asks (the panel's question): stop it, leave it running, or stay."""
        if self.training:
            ask = getattr(self.parent(), "ask_close_during_training", None)
            answer = ask() if ask is not None else "stop"
            if answer == "cancel":
                return
            if answer == "leave":
                self.train_view.leave_running()
            else:
                self.train_view.cancel()
        super().reject()
