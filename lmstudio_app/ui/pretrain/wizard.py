"""The Pre-train wizard: Text → Model → Objective → Settings → Train → Results, and a pre-training run's
dialog for the runs list (resume, results)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget, QWizard, QWizardPage

from lmstudio_app.core.training.runs import new_run_dir
from lmstudio_app.ui.finetune.run_dialog import RunDialog
from lmstudio_app.ui.finetune.training_wizard import TrainingWizard
from lmstudio_app.ui.pretrain.pages import ModelPage, ObjectivePage, PretrainContext, SettingsPage, TextPage
from lmstudio_app.ui.pretrain.results_view import PretrainResultsView
from lmstudio_app.ui.pretrain.train_view import PretrainTrainView


class TrainPage(QWizardPage):
    """Starts a new run each time the user arrives from Settings; Next once it has finished."""

    def __init__(self, ctx: PretrainContext, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Train")
        self.setSubTitle("Training runs in the background. Cancel keeps a checkpoint; Resume continues it.")
        self.setButtonText(QWizard.WizardButton.NextButton, "Results")
        self.view = PretrainTrainView()
        self.view.finished_hint = "Click “Results” for the before/after figures, the probes and exports."
        self.view.state_changed.connect(lambda _s: self.completeChanged.emit())
        QVBoxLayout(self).addWidget(self.view)

    def initializePage(self) -> None:  # noqa: N802
        if self.view.busy:
            return
        self.ctx.result = None
        self.ctx.run_dir = new_run_dir(self.ctx.settings.name)
        self.view.start_new(self.ctx.corpus, self.ctx.source, self.ctx.settings.to_dict(), self.ctx.run_dir)

    def isComplete(self) -> bool:  # noqa: N802
        return self.view.state == "finished"

    def validatePage(self) -> bool:  # noqa: N802
        self.ctx.result = self.view.result
        return self.ctx.result is not None


class ResultsPage(QWizardPage):
    def __init__(self, ctx: PretrainContext, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Results")
        self.setSubTitle(
            "The held-out text and your probe sentences before and after, and what to do with the model."
        )
        self.view = PretrainResultsView(ctx.app)
        QVBoxLayout(self).addWidget(self.view)

    def initializePage(self) -> None:  # noqa: N802
        self.view.set_result(self.ctx.result)


class PretrainWizard(TrainingWizard):
    """Every page validates before Next."""

    fine_tune_requested = Signal(str)  # a model folder to fine-tune from

    def __init__(self, app: Any = None, parent: QWidget | None = None) -> None:
        super().__init__("New pre-training", parent)
        self.ctx = PretrainContext(app=app)
        self.text_page = TextPage(self.ctx)
        self.model_page = ModelPage(self.ctx)
        self.objective_page = ObjectivePage(self.ctx)
        self.settings_page = SettingsPage(self.ctx)
        self.train_page = TrainPage(self.ctx)
        self.results_page = ResultsPage(self.ctx)
        pages = [self.text_page, self.model_page, self.objective_page, self.settings_page]
        self.add_pages([*pages, self.train_page, self.results_page], self.train_page)
        self.results_page.view.fine_tune_requested.connect(self.fine_tune_requested)


class PretrainRunDialog(RunDialog):
    """A pre-training run from the runs list; "Fine-tune from this model" goes to the panel's wizard."""

    def __init__(self, app: Any, run_dir: Path, parent: QWidget | None = None) -> None:
        from lmstudio_app.core.pretrain.settings import PretrainResult

        super().__init__(
            run_dir, (PretrainTrainView(), PretrainResultsView(app)), PretrainResult.load, parent
        )
        self.setWindowTitle(f"Pre-training run {self.run_dir.name}")
        fine_tune = getattr(parent, "fine_tune_from", None)
        if fine_tune is not None:
            self.results_view.fine_tune_requested.connect(fine_tune)


def open_pretrain_wizard(panel: Any) -> PretrainWizard:
    """The Fine-tune tab's "New pre-training…": one wizard at a time; "Fine-tune from this model" goes back
    to the panel's fine-tune wizard with the new model chosen."""
    wizard = getattr(panel, "pretrain_wizard", None)
    if wizard is None or (not wizard.isVisible() and not wizard.training):
        if wizard is not None:
            wizard.deleteLater()
        wizard = PretrainWizard(panel.state, panel)
        wizard.run_changed.connect(panel.refresh)
        wizard.fine_tune_requested.connect(panel.fine_tune_from)
        panel.pretrain_wizard = wizard
    wizard.show()
    wizard.raise_()
    return wizard


def fine_tune_from(panel: Any, model_dir: str) -> Any:
    """Open the panel's fine-tune wizard with `model_dir` as its base model."""
    wizard = panel.new_fine_tune()
    wizard.settings_page.model_combo.setCurrentText(model_dir)
    return wizard
