"""The fine-tuning wizard: Data → Columns → Split → Model and settings → Train → Results."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.training_wizard import TrainingWizard
from lmstudio_app.ui.finetune.wizard.columns_page import ColumnsPage
from lmstudio_app.ui.finetune.wizard.context import WizardContext
from lmstudio_app.ui.finetune.wizard.data_page import DataPage
from lmstudio_app.ui.finetune.wizard.results_page import ResultsPage
from lmstudio_app.ui.finetune.wizard.settings_page import SettingsPage
from lmstudio_app.ui.finetune.wizard.split_page import SplitPage
from lmstudio_app.ui.finetune.wizard.train_page import TrainPage


class FineTuneWizard(TrainingWizard):
    """Every page validates before Next."""

    def __init__(self, app: AppState | None = None, parent: QWidget | None = None) -> None:
        super().__init__("New fine-tune", parent)
        self.ctx = WizardContext(app=app)
        self.data_page = DataPage(self.ctx)
        self.columns_page = ColumnsPage(self.ctx)
        self.split_page = SplitPage(self.ctx)
        self.settings_page = SettingsPage(self.ctx)
        self.train_page = TrainPage(self.ctx)
        self.results_page = ResultsPage(self.ctx)
        pages = [self.data_page, self.columns_page, self.split_page, self.settings_page]
        self.add_pages([*pages, self.train_page, self.results_page], self.train_page)

    def open_file(self, path: str | Path) -> None:
        self.data_page.open_file(path)
