"""What the fine-tune and pre-training wizards share: pages that end in training and its results, Back off
while training runs, and closing during training asks, then cancels and keeps the checkpoint."""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QMessageBox, QWidget, QWizard, QWizardPage

from lmstudio_app.ui.sizing import fit_to_screen

STOP_QUESTION = "Stop the training? A checkpoint is kept, and the run can be resumed from the Fine-tune tab."


class TrainingWizard(QWizard):
    """Call `add_pages` with every page; `train_page.view` is the run's TrainView."""

    run_changed = Signal()  # a run started, finished, was cancelled or failed (the runs list refreshes)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        fit_to_screen(self, QSize(1000, 760))
        self.train_page: QWizardPage | None = None

    def add_pages(self, pages: list[QWizardPage], train_page: QWizardPage) -> None:
        for page in pages:
            self.addPage(page)
        self.train_page = train_page
        train_page.view.state_changed.connect(lambda _s: self.run_changed.emit())
        # QWizard re-enables Back whenever it updates its buttons: switch it off again while training.
        train_page.view.state_changed.connect(self._update_back)
        self.currentIdChanged.connect(self._update_back)

    def _update_back(self) -> None:
        if self.train_page is not None and self.currentPage() is self.train_page:
            self.button(QWizard.WizardButton.BackButton).setEnabled(not self.training)

    @property
    def training(self) -> bool:
        return self.train_page is not None and self.train_page.view.busy

    def ask_stop_training(self) -> bool:
        """Ask before closing during training (tests replace this method)."""
        answer = QMessageBox.question(self, "Training is running", STOP_QUESTION)
        return answer == QMessageBox.StandardButton.Yes

    def reject(self) -> None:
        if self.training:
            if not self.ask_stop_training():
                return
            self.train_page.view.cancel()
        super().reject()
