"""The fine-tuning wizard. Its first page asks what the model learns; each task is a path of pages:

- Labels (sentence classification): Data → Columns → Split → Base model (optional chooser) → Model and
  settings → Train → Results
- Word tags (NER, POS): Tagged data → Split → Model and settings → Train → Results (ui/tokens)
- Question answering: Questions → Split → Model and settings → Train → Results (ui/qa)

Split, settings, training and results are the same pages on every path (each job kind gives them its
rules); the word-tag and question-answering paths are built the first time they are chosen.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget, QWizardPage

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.training_wizard import TrainingWizard
from lmstudio_app.ui.finetune.wizard.choose_page import ChoosePage
from lmstudio_app.ui.finetune.wizard.columns_page import ColumnsPage
from lmstudio_app.ui.finetune.wizard.context import WizardContext
from lmstudio_app.ui.finetune.wizard.data_page import DataPage
from lmstudio_app.ui.finetune.wizard.results_page import ResultsPage
from lmstudio_app.ui.finetune.wizard.settings_page import SettingsPage
from lmstudio_app.ui.finetune.wizard.split_page import SplitPage
from lmstudio_app.ui.finetune.wizard.tasks import TITLES, TaskChoice, TaskPages
from lmstudio_app.ui.finetune.wizard.train_page import TrainPage

FIRST_IDS = {"labels": 0, "tokens": 100, "qa": 200}  # page ids of each path (Next follows its own path)


class FineTuneWizard(TrainingWizard):
    """Every page validates before Next; `choose_task` switches to another task's path (from its first page)."""

    def __init__(
        self, app: AppState | None = None, parent: QWidget | None = None, task: str = "labels"
    ) -> None:
        super().__init__(TITLES["labels"], parent)
        self.app = app
        self.ctx = WizardContext(app=app)
        self.data_page = DataPage(self.ctx)
        self.columns_page = ColumnsPage(self.ctx)
        self.split_page = SplitPage(self.ctx)
        self.choose_page = ChoosePage(self.ctx)
        self.settings_page = SettingsPage(self.ctx)
        self.choose_page.picked.connect(self.settings_page.model_combo.setCurrentText)
        self.train_page = TrainPage(self.ctx)
        self.results_page = ResultsPage(self.ctx)
        pages = [self.data_page, self.columns_page, self.split_page, self.choose_page, self.settings_page]
        self.add_pages([*pages, self.train_page, self.results_page], self.train_page)
        self.task = "labels"
        self.choices: dict[str, TaskChoice] = {}
        self._paths_by_task: dict[str, TaskPages] = {}
        self._add_choice("labels", self.data_page)
        if task != "labels":
            self.choose_task(task)

    # ---- tasks ----------------------------------------------------------------------------------------
    @property
    def tokens(self) -> TaskPages:
        """The word-tags path (built on first use)."""
        return self._task_pages("tokens")

    @property
    def qa(self) -> TaskPages:
        """The question-answering path (built on first use)."""
        return self._task_pages("qa")

    def _task_pages(self, task: str) -> TaskPages:
        if task not in self._paths_by_task:
            if task == "tokens":
                from lmstudio_app.ui.tokens.pages import token_pages as build
            else:
                from lmstudio_app.ui.qa.pages import qa_pages as build
            path = build(self.app)
            self.add_pages(path.pages, path.train_page, FIRST_IDS[task])
            self._paths_by_task[task] = path
            self._add_choice(task, path.data_page)
        return self._paths_by_task[task]

    def _add_choice(self, task: str, page: QWizardPage) -> None:
        choice = TaskChoice(task)
        choice.chosen.connect(self.choose_task)
        page.layout().insertWidget(0, choice)
        self.choices[task] = choice

    def choose_task(self, task: str) -> None:
        """Show the first page of `task`'s path (what was entered on another path is kept for going back)."""
        if task not in FIRST_IDS:
            raise ValueError(f"unknown task {task!r}")
        if task != "labels":
            self._task_pages(task)
        self.task = task
        for choice in self.choices.values():
            choice.set_task(task)
        self.setWindowTitle(TITLES[task])
        if self.currentId() != FIRST_IDS[task] or self.startId() != FIRST_IDS[task]:
            self.setStartId(FIRST_IDS[task])
            if self.isVisible():
                self.restart()

    @property
    def current_ctx(self) -> object:
        """The context of the task shown."""
        return self.ctx if self.task == "labels" else self._paths_by_task[self.task].ctx

    def open_file(self, path: str | Path) -> None:
        """Open a data file on the shown task's first page."""
        page = self.data_page if self.task == "labels" else self._paths_by_task[self.task].data_page
        page.open_file(path)
