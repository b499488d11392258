"""Step 6: the results of the run just trained (the same view the runs list opens)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QVBoxLayout, QWizardPage

from lmstudio_app.ui.finetune.results_view import ResultsView
from lmstudio_app.ui.finetune.wizard.context import WizardContext


class ResultsPage(QWizardPage):
    def __init__(self, ctx: WizardContext, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Results")
        self.setSubTitle("How the model does on the validation data, and what to do with it.")
        self.view = ResultsView(ctx.app)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)

    def initializePage(self) -> None:  # noqa: N802
        self.view.set_result(self.ctx.result)
