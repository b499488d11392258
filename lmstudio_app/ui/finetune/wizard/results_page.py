"""Step 6: the results of the run just trained (the same view the runs list opens), for every task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QVBoxLayout, QWidget, QWizardPage

from lmstudio_app.ui.finetune.results_view import ResultsView
from lmstudio_app.ui.finetune.wizard.context import RunContext


class ResultsPage(QWizardPage):
    """Its view is built when first needed: the plots in it took ~40 ms of the ~140 ms that opening the
    wizard froze the window for, for a page that is shown only after training. `make_view(app)` builds the
    job kind's results view (default: the classifier's); it has `set_result(result)`."""

    def __init__(
        self, ctx: RunContext, parent: Any = None, make_view: Callable[[Any], QWidget] = ResultsView
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Results")
        self.setSubTitle("How the model does on the validation data, and what to do with it.")
        self._layout = QVBoxLayout(self)
        self._make_view = make_view
        self._view: Any = None

    @property
    def view(self) -> Any:
        if self._view is None:
            self._view = self._make_view(self.ctx.app)
            self._layout.addWidget(self._view)
        return self._view

    def initializePage(self) -> None:  # noqa: N802
        self.view.set_result(self.ctx.result)
