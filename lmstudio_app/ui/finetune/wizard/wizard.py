"""The fine-tuning wizard: Data → Columns → Split → Model and settings → Train → Results."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMessageBox, QWidget, QWizard

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.wizard.columns_page import ColumnsPage
from lmstudio_app.ui.finetune.wizard.context import WizardContext
from lmstudio_app.ui.finetune.wizard.data_page import DataPage
from lmstudio_app.ui.finetune.wizard.results_page import ResultsPage
from lmstudio_app.ui.finetune.wizard.settings_page import SettingsPage
from lmstudio_app.ui.finetune.wizard.split_page import SplitPage
from lmstudio_app.ui.finetune.wizard.train_page import TrainPage


class FineTuneWizard(QWizard):
    """Every page validates before Next; closing during training asks, then cancels and keeps the checkpoint."""

    run_changed = Signal()  # a run started, finished, was cancelled or failed (the runs list refreshes)

    def __init__(self, app: AppState | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New fine-tune")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.HaveFinishButtonOnEarlyPages, False)
        self.resize(1000, 760)
        self.ctx = WizardContext(app=app)
        self.data_page = DataPage(self.ctx)
        self.columns_page = ColumnsPage(self.ctx)
        self.split_page = SplitPage(self.ctx)
        self.settings_page = SettingsPage(self.ctx)
        self.train_page = TrainPage(self.ctx)
        self.results_page = ResultsPage(self.ctx)
        for page in (
            self.data_page,
            self.columns_page,
            self.split_page,
            self.settings_page,
            self.train_page,
            self.results_page,
        ):
            self.addPage(page)
        self.train_page.view.state_changed.connect(lambda _s: self.run_changed.emit())
        # QWizard re-enables Back whenever it updates its buttons: switch it off again while training.
        self.train_page.view.state_changed.connect(self._update_back)
        self.currentIdChanged.connect(self._update_back)

    def _update_back(self) -> None:
        if self.currentPage() is self.train_page:
            self.button(QWizard.WizardButton.BackButton).setEnabled(not self.training)

    def open_file(self, path: str | Path) -> None:
        self.data_page.open_file(path)

    @property
    def training(self) -> bool:
        return self.train_page.view.state in ("running", "cancelling")

    def ask_stop_training(self) -> bool:
        """Ask before closing during training (tests replace this method)."""
        answer = QMessageBox.question(
            self,
            "Training is running",
            "Stop the training? A checkpoint is kept, and the run can be resumed from the Fine-tune tab.",
        )
        return answer == QMessageBox.StandardButton.Yes

    def reject(self) -> None:
        if self.training:
            if not self.ask_stop_training():
                return
            self.train_page.view.cancel()
        super().reject()
