"""The live view of a question-answering run: the shared TrainView (curves, progress, log, Cancel, Resume)
running the QA job, with exact match and F1 on the held-out questions as its figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from lmstudio_app.ui.finetune.train_view import TrainView
from lmstudio_app.ui.finetune.training_session import TrainingSession
from lmstudio_app.ui.widgets.loss_curves import LossCurves

QA_METRICS = (
    ("eval_loss", "eval loss", Qt.PenStyle.SolidLine),
    ("eval_exact_match", "exact match", Qt.PenStyle.DashLine),
    ("eval_f1", "F1", Qt.PenStyle.DotLine),
)


class QASession(TrainingSession):
    """A TrainingSession whose process trains (or resumes) an extractive question-answering model; the
    settings name the data files (and a table's columns), read again by the process."""

    def launch_spec(self, train: Any, val: Any, settings: dict, plan: Any) -> dict:
        return {"kind": "qa", "name": settings.get("name", ""), "settings": settings}

    def load_result(self, run_dir: Path) -> Any:
        from lmstudio_app.core.qa.settings import QAResult

        return QAResult.load(run_dir)


def figures(metrics: dict) -> str:
    text = f"exact match {float(metrics.get('eval_exact_match', 0)):.3f}, F1 {float(metrics.get('eval_f1', 0)):.3f}"
    if "eval_has_answer_f1" in metrics:
        text += (
            f" (answerable F1 {float(metrics['eval_has_answer_f1']):.3f}, no-answer accuracy "
            f"{float(metrics.get('eval_no_answer_accuracy', 0)):.3f})"
        )
    return text


class QATrainView(TrainView):
    """Exact match and F1 (SQuAD's normalisation) on the held-out questions, live."""

    session_class = QASession

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent, lambda: LossCurves(metrics=QA_METRICS, eval_title="Held-out questions"))

    def describe_data(self, train: Any, val: Any) -> str:
        return f"{len(train):,} questions, validating on {len(val):,}"

    def describe_eval(self, event: dict) -> str:
        return f"eval loss {float(event.get('eval_loss', 0)):.4f}, {figures(event)}"

    def describe_result(self, metrics: dict) -> str:
        return figures(metrics)
