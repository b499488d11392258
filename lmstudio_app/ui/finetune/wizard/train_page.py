"""Step 5: train in the background with live curves; Back is off while it runs (every task's path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QVBoxLayout, QWizard, QWizardPage

from lmstudio_app.core.training.runs import new_run_dir
from lmstudio_app.ui.finetune.train_view import TrainView
from lmstudio_app.ui.finetune.wizard.context import RunContext

CLASSIFIER_HINT = "Click “Results” for per-class scores, the confusion matrix and exports."


def default_run_name(ctx: RunContext) -> str:
    model = Path(str(ctx.settings.get("base_model", "model"))).name
    return f"{ctx.data_name()}-{model}"


class TrainPage(QWizardPage):
    """Starts a new run each time the user arrives from the settings page; Next once it has finished.
    `view` is the job kind's TrainView (default: the classifier's)."""

    def __init__(
        self, ctx: RunContext, parent: Any = None, view: TrainView | None = None, hint: str = CLASSIFIER_HINT
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Train")
        self.setSubTitle(
            "Training runs in the background; you can keep using the app. Cancel keeps a checkpoint."
        )
        self.setButtonText(QWizard.WizardButton.NextButton, "Results")
        self.view = view if view is not None else TrainView()
        self.view.finished_hint = hint
        self.view.state_changed.connect(self._state_changed)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)

    def initializePage(self) -> None:  # noqa: N802
        if self.view.busy:
            return
        self.ctx.result = None
        name = self.ctx.run_name or default_run_name(self.ctx)
        self.ctx.settings["name"] = name
        self.ctx.run_dir = new_run_dir(name)
        self.view.start_new(self.ctx.train, self.ctx.val, self.ctx.settings, self.ctx.run_dir, self.ctx.plan)

    def _state_changed(self, state: str) -> None:
        if state == "finished":
            self.ctx.result = self.view.result
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self.view.state == "finished"

    def validatePage(self) -> bool:  # noqa: N802
        return self.view.state == "finished" and self.ctx.result is not None
