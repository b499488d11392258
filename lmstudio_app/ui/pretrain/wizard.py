"""The Pre-train wizard: Text → Model → Objective → Settings → Train → Results, and a pre-training run's
dialog for the runs list (resume, results)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from lmstudio_app.core.training.runs import new_run_dir
from lmstudio_app.ui.pretrain.pages import ModelPage, ObjectivePage, PretrainContext, SettingsPage, TextPage
from lmstudio_app.ui.pretrain.results_view import PretrainResultsView
from lmstudio_app.ui.pretrain.train_view import PretrainTrainView
from lmstudio_app.ui.qthreading import Worker

ERROR_STYLE = "color: #c0392b;"


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
        if self.view.state in ("running", "cancelling"):
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


class PretrainWizard(QWizard):
    """Every page validates before Next; closing during training asks, then cancels and keeps the checkpoint."""

    run_changed = Signal()
    fine_tune_requested = Signal(str)  # a model folder to fine-tune from

    def __init__(self, app: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New pre-training")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.resize(1000, 760)
        self.ctx = PretrainContext(app=app)
        self.text_page = TextPage(self.ctx)
        self.model_page = ModelPage(self.ctx)
        self.objective_page = ObjectivePage(self.ctx)
        self.settings_page = SettingsPage(self.ctx)
        self.train_page = TrainPage(self.ctx)
        self.results_page = ResultsPage(self.ctx)
        for page in (
            self.text_page,
            self.model_page,
            self.objective_page,
            self.settings_page,
            self.train_page,
            self.results_page,
        ):
            self.addPage(page)
        self.train_page.view.state_changed.connect(lambda _s: self.run_changed.emit())
        self.train_page.view.state_changed.connect(self._update_back)
        self.currentIdChanged.connect(self._update_back)
        self.results_page.view.fine_tune_requested.connect(self.fine_tune_requested)

    def _update_back(self) -> None:
        if self.currentPage() is self.train_page:
            self.button(QWizard.WizardButton.BackButton).setEnabled(not self.training)

    @property
    def training(self) -> bool:
        return self.train_page.view.state in ("running", "cancelling")

    def ask_stop_training(self) -> bool:
        """Ask before closing during training (tests replace this method)."""
        answer = QMessageBox.question(
            self,
            "Training is running",
            "Stop the training? A checkpoint is kept; resume it from the Fine-tune tab.",
        )
        return answer == QMessageBox.StandardButton.Yes

    def reject(self) -> None:
        if self.training:
            if not self.ask_stop_training():
                return
            self.train_page.view.cancel()
        super().reject()


def _load_result_job(run_dir: Path, *, state: Any) -> Any:
    from lmstudio_app.core.pretrain.job import load_result

    state.progress(-1, "Reading the run's results")
    return load_result(run_dir)


class PretrainRunDialog(QDialog):
    """One pre-training run from the runs list: its live training when resumed, then its results."""

    def __init__(self, app: Any, run_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.setWindowTitle(f"Pre-training run {self.run_dir.name}")
        self.resize(1000, 720)
        self.train_view = PretrainTrainView()
        self.results_view = PretrainResultsView(app)
        self.train_view.succeeded.connect(self.show_result)
        fine_tune = getattr(parent, "fine_tune_from", None)
        if fine_tune is not None:
            self.results_view.fine_tune_requested.connect(fine_tune)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.train_view)
        self.stack.addWidget(self.results_view)
        self.message = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.stack, 1)

    def resume(self) -> None:
        from lmstudio_app.core.training.record import RunRecord

        self.stack.setCurrentWidget(self.train_view)
        self.train_view.start_resume(self.run_dir, history=RunRecord(self.run_dir).history())

    def open_results(self) -> Worker:
        self.message.setText("Reading the results…")
        worker = Worker(_load_result_job, self.run_dir)
        worker.result.connect(self.show_result)
        worker.error.connect(
            lambda message, _d: (self.message.setStyleSheet(ERROR_STYLE), self.message.setText(message))
        )
        return worker.start()

    def show_result(self, result: Any) -> None:
        self.message.setText("")
        self.results_view.set_result(result)
        self.stack.setCurrentWidget(self.results_view)

    @property
    def training(self) -> bool:
        return self.train_view.state in ("running", "cancelling")

    def reject(self) -> None:
        if self.training:
            ask = getattr(self.parent(), "ask_stop_training", None)
            if ask is not None and not ask():
                return
            self.train_view.cancel()
        super().reject()


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


def dialog_for(run_dir: Path, default: type) -> type:
    """The run dialog for the run's kind: pre-training runs open the pre-training views."""
    from lmstudio_app.core.training.record import RunRecord

    return PretrainRunDialog if RunRecord(Path(run_dir)).saved_settings().kind == "pretrain" else default
