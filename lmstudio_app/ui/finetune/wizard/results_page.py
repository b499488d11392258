"""Step 6: the results of the run just trained (the same view the runs list opens)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QVBoxLayout, QWizardPage

from lmstudio_app.ui.finetune.results_view import ResultsView
from lmstudio_app.ui.finetune.wizard.context import WizardContext


class ResultsPage(QWizardPage):
    """Its view is built when first needed: the plots in it took ~40 ms of the ~140 ms that opening the
    wizard froze the window for, for a page that is shown only after training."""

    def __init__(self, ctx: WizardContext, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Results")
        self.setSubTitle("How the model does on the validation data, and what to do with it.")
        self._layout = QVBoxLayout(self)
        self._view: ResultsView | None = None

    @property
    def view(self) -> ResultsView:
        if self._view is None:
            self._view = ResultsView(self.ctx.app)
            self._layout.addWidget(self._view)
        return self._view

    def initializePage(self) -> None:  # noqa: N802
        self.view.set_result(self.ctx.result)
