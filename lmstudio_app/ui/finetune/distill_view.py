"""Distil… on a classifier's Results: choose the student, then train it in a run window of its own.

The options dialog asks only what distillation adds (the student's depth, temperature, alpha, epochs);
everything else (data, split, learning rate, batch, length) is the teacher run's own. The run window shows
the training like any run's, then the student's results; the run is a "distillation" in the runs list,
reopened and resumed from there like the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.jsonio import read_json
from lmstudio_app.core.tasks import TaskState
from lmstudio_app.core.training.record import SavedSettings
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.run_dialog import RunDialog
from lmstudio_app.ui.finetune.train_view import TrainView
from lmstudio_app.ui.finetune.training_session import TrainingSession
from lmstudio_app.ui.qthreading import Worker

NOT_INHERITED = ("name", "command", "processes")  # the teacher run's own: the student's run has its own


def _data_job(job: dict, *, state: TaskState) -> tuple[Any, Any, Any]:
    """(plan, train, val) of the teacher's run, read again from its files."""
    from lmstudio_app.core.finetune.datasets import DataPlan, build_splits

    state.progress(-1, "Reading the teacher's data again")
    plan = DataPlan.from_saved(job)
    return (plan, *build_splits(plan, state=state))


class DistillSession(TrainingSession):
    """A training process of `lmstudio-app distill`, started on the run's settings."""

    command = "distill"

    def launch_spec(self, train: Any, val: Any, settings: dict, plan: Any) -> dict:
        return {**super().launch_spec(train, val, settings, plan), "kind": "distill"}


class DistillTrainView(TrainView):
    session_class = DistillSession

    def describe_result(self, metrics: dict) -> str:
        agreement = metrics.get("eval_teacher_agreement")
        if agreement is None:
            return super().describe_result(metrics)
        return (
            f"{super().describe_result(metrics)}; agreement with the teacher {agreement:.3f} "
            f"(the teacher's accuracy {metrics.get('teacher_eval_accuracy', 0):.3f})"
        )


class DistillRunDialog(RunDialog):
    """A distillation run: its live training, then the student's results."""

    def __init__(self, app: AppState | None, run_dir: Path, parent: QWidget | None = None) -> None:
        from lmstudio_app.core.finetune.settings import FineTuneResult
        from lmstudio_app.ui.finetune.results_view import ResultsView

        super().__init__(run_dir, (DistillTrainView(), ResultsView(app)), FineTuneResult.load, parent)
        self.setWindowTitle(f"Distillation {self.run_dir.name}")

    def start(self, teacher_job: dict, settings: dict) -> Worker:
        """Read the teacher run's data (in a Worker), then train the student with `settings`."""
        self.message.setText("Reading the teacher's data again…")
        worker = Worker(_data_job, teacher_job)
        worker.result.connect(lambda read: self._train(settings, *read))
        worker.error.connect(lambda message, _d: self._error(message))
        return worker.start()

    def _train(self, settings: dict, plan: Any, train: Any, val: Any) -> None:
        self.message.setText("")
        self.stack.setCurrentWidget(self.train_view)
        self.train_view.start_new(train, val, settings, self.run_dir, plan)


@dataclass(frozen=True)
class StudentChoice:
    layers: int
    temperature: float
    alpha: float
    epochs: float

    def settings(self, teacher_dir: Path, saved: SavedSettings, run_dir: Path) -> dict:
        """The student run's settings: the teacher run's, plus the teacher, the student and the loss."""
        own = {k: v for k, v in saved.settings.items() if k not in NOT_INHERITED}
        return {
            **own,
            "base_model": str(teacher_dir),
            "teacher": str(teacher_dir),
            "student_layers": self.layers,
            "temperature": self.temperature,
            "alpha": self.alpha,
            "epochs": self.epochs,
            "max_steps": -1,
            "name": run_dir.name,
        }


def teacher_layers(model_dir: Path) -> int:
    return int(read_json(Path(model_dir) / "config.json").get("num_hidden_layers") or 0)


class DistillOptions(QDialog):
    """What the student is: how many of the teacher's layers, and the soft-target loss's settings."""

    def __init__(self, layers: int, epochs: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Distil a smaller student")
        intro = QLabel(
            f"The student keeps some of the teacher's {layers} layers, evenly spaced from the first (every "
            "other one for half), with its embeddings and head, and learns from the teacher's probabilities "
            "(soft targets) and the true labels on the same data. Fewer layers: faster, usually a little less "
            "accurate.",
            wordWrap=True,
        )
        self.layers = QSpinBox(minimum=1, maximum=max(1, layers - 1), value=max(1, layers // 2))
        self.layers.setSuffix(f" of {layers}")
        self.temperature = QDoubleSpinBox(minimum=0.5, maximum=20.0, singleStep=0.5, value=2.0, decimals=1)
        self.temperature.setToolTip(
            "Softens both sides' probabilities: higher shows more of the teacher's second choices"
        )
        self.alpha = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.1, value=0.5, decimals=2)
        self.alpha.setToolTip("Weight of the soft targets; 1 - alpha goes to the true labels")
        self.epochs = QDoubleSpinBox(minimum=0.5, maximum=100.0, singleStep=1.0, value=epochs, decimals=1)
        form = QFormLayout()
        form.addRow("Student layers", self.layers)
        form.addRow("Temperature", self.temperature)
        form.addRow("Alpha (soft targets)", self.alpha)
        form.addRow("Epochs", self.epochs)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Distil")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons, alignment=Qt.AlignmentFlag.AlignRight)

    def choice(self) -> StudentChoice:
        return StudentChoice(
            self.layers.value(), self.temperature.value(), self.alpha.value(), self.epochs.value()
        )


def ask_distill(view: Any) -> DistillRunDialog | None:
    """The Results view's Distil… button: ask what the student is, then start it (None when cancelled)."""
    layers = teacher_layers(view.result.model_dir)
    if layers < 2:
        view.status.setText("This model has a single layer: there is no smaller student of its layers.")
        return None
    options = DistillOptions(layers, float(view.saved.settings.get("epochs", 3.0)), view)
    return open_distillation(view, options.choice()) if options.exec() else None


def open_distillation(view: Any, choice: StudentChoice) -> DistillRunDialog:
    """Start distilling the model of `view`'s run (a ResultsView) into a new run; its window shows the
    training."""
    from lmstudio_app.core.training.runs import new_run_dir

    result = view.result
    run_dir = new_run_dir(f"{view.saved.name or Path(result.run_dir).name}-student-{choice.layers}")
    settings = choice.settings(Path(result.model_dir), view.saved, run_dir)
    dialog = DistillRunDialog(view.app, run_dir, view.window())
    dialog.start(view.saved.job, settings)
    dialog.show()
    view.status.setText(f"Distilling into {run_dir.name}: its window shows the training.")
    return dialog
