"""The live view of a word-tagging run: the shared TrainView (curves, progress, log, Cancel, Resume) running
the tagger's job, with token accuracy and, for entity tags, entity F1 as its figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from lmstudio_app.ui.finetune.train_view import TrainView
from lmstudio_app.ui.finetune.training_session import TrainingSession
from lmstudio_app.ui.widgets.loss_curves import LossCurves

ENTITY_METRICS = (
    ("eval_loss", "eval loss", Qt.PenStyle.SolidLine),
    ("eval_token_accuracy", "token accuracy", Qt.PenStyle.DashLine),
    ("eval_f1", "entity F1", Qt.PenStyle.DotLine),
)
WORD_METRICS = ENTITY_METRICS[:2]  # tags without entities (parts of speech): no entity F1


class TokenSession(TrainingSession):
    """A TrainingSession whose process trains (or resumes) a word tagger."""

    def launch_spec(self, train: Any, val: Any, settings: dict, plan: Any) -> dict:
        return {
            "kind": "tokens",
            "name": settings.get("name", ""),
            "settings": settings,
            "data_plan": plan.to_dict(),
        }

    def load_result(self, run_dir: Path) -> Any:
        from lmstudio_app.core.tokens.settings import TokenResult

        return TokenResult.load(run_dir)


class TokenTrainView(TrainView):
    """Token accuracy (and entity F1 when the tags mark entities) on the validation sentences, live."""

    session_class = TokenSession

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent, lambda: LossCurves(metrics=ENTITY_METRICS))

    def start_new(
        self, train: Any, val: Any, settings: dict, run_dir: Path, plan: Any = None
    ) -> TrainingSession:
        from lmstudio_app.core.tokens.scheme import entity_scheme

        tags = set(train.tag_counts()) | set(val.tag_counts())
        self.curves.metrics = ENTITY_METRICS if entity_scheme(tags) is not None else WORD_METRICS
        return super().start_new(train, val, settings, run_dir, plan)

    def show_history(self, history: list[dict]) -> None:
        evals = [e for e in history if e.get("type") == "eval"]
        if evals:
            self.curves.metrics = ENTITY_METRICS if "eval_f1" in evals[-1] else WORD_METRICS
        super().show_history(history)

    def describe_data(self, train: Any, val: Any) -> str:
        return f"{len(train):,} sentences ({train.words():,} words), validating on {len(val):,}"

    def describe_eval(self, event: dict) -> str:
        text = (
            f"eval loss {float(event.get('eval_loss', 0)):.4f}, token accuracy "
            f"{float(event.get('eval_token_accuracy', 0)):.3f}"
        )
        return text + (f", entity F1 {float(event['eval_f1']):.3f}" if "eval_f1" in event else "")

    def describe_result(self, metrics: dict) -> str:
        text = f"token accuracy {metrics.get('eval_token_accuracy', 0):.3f}"
        return text + (f", entity F1 {metrics['eval_f1']:.3f}" if "eval_f1" in metrics else "")
