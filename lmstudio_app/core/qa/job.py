"""The question-answering job: start/end heads on an encoder, trained by the engine (core/training/engine.py).

Only what is particular to extractive QA lives here: the token windows with their answer positions, the
AutoModelForQuestionAnswering head, exact match and F1 on the held-out questions (the engine logs them at
every evaluation and keeps the best F1 when stopping early), and the files it saves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.qa.data import QAExample
from lmstudio_app.core.qa.metrics import best_scores, squad_metrics
from lmstudio_app.core.qa.settings import QA_FILE, QAResult, QASettings
from lmstudio_app.core.qa.spans import Decoded, SpanOptions, decode_windows
from lmstudio_app.core.qa.windows import Windows, make_windows
from lmstudio_app.core.tasks import TaskState
from lmstudio_app.core.training.bridge import EventFn
from lmstudio_app.core.training.engine import JobContext, Outcome, TrainerParts, run_job
from lmstudio_app.core.training.head_job import (
    emit_final_eval,
    final_predictions,
    load_base,
    load_with_head,
    model_dir_for,
    run_figures,
    save_model_folder,
)
from lmstudio_app.core.training.record import SavedSettings

MAX_MISTAKES = 200


class QAJob:
    """Train a span-extraction model on `train`, score it on `val`, save a loadable HF folder."""

    kind = "qa"

    def __init__(
        self, train: list[QAExample], val: list[QAExample], settings: QASettings, model_dir: Path
    ) -> None:
        self.train, self.val, self.settings = train, val, settings.copy()
        self.model_dir = Path(model_dir)
        self.unanswerable = any(e.answers == [] for e in train)
        self.tokenizer: Any = None
        self.source: Any = None
        self.max_length, self.stride = settings.max_length, settings.stride
        self.train_ds: Windows | None = None
        self.val_ds: Windows | None = None

    def check(self) -> None:
        if not self.train or not self.val:
            raise DataError("There are no training or no validation questions: add data or change the split.")
        for example in self.train + self.val:
            if example.answers is None:
                raise DataError(
                    f"{example.where or example.id} has no answer: training needs one for every question "
                    "(an empty answer marks an unanswerable one)."
                )

    def resume_from(self, saved: SavedSettings) -> None:
        self.unanswerable = bool(saved.job.get("unanswerable", self.unanswerable))

    def describe(self) -> dict:
        return {
            "task": "qa",
            "data": self.settings.data,
            "model_dir": str(self.model_dir),
            "train_rows": len(self.train),
            "val_rows": len(self.val),
            "unanswerable": self.unanswerable,
        }

    def train_rows(self) -> int:
        return len(self.train_ds) if self.train_ds is not None else len(self.train)

    def options(self) -> SpanOptions:
        return SpanOptions(max_answer_tokens=self.settings.max_answer_tokens, allow_null=self.unanswerable)

    def prepare(self, ctx: JobContext) -> dict:
        base = load_base(ctx, self.settings, "training extractive QA")
        self.source, self.tokenizer, self.max_length = base.source, base.tokenizer, base.max_length
        if self.stride >= self.max_length // 2:
            self.stride = self.max_length // 4
            ctx.recorder.say(f"stride lowered to {self.stride}, a quarter of the max length")
        self.train_ds = make_windows(self.tokenizer, self.train, self.max_length, self.stride, ctx.state)
        self.val_ds = make_windows(self.tokenizer, self.val, self.max_length, self.stride, ctx.state)
        split = len(self.train_ds) - len(self.train)
        if split:
            ctx.recorder.say(
                f"{split} more window(s) than questions: long contexts split with stride {self.stride}"
            )
        return {"max length": self.max_length, "stride": self.stride, "windows": len(self.train_ds)}

    def trainer_parts(self, ctx: JobContext) -> TrainerParts:
        from transformers import AutoModelForQuestionAnswering, DataCollatorWithPadding

        model = load_with_head(AutoModelForQuestionAnswering, self.source, "question answering")
        return TrainerParts(
            model=model,
            train_dataset=self.train_ds,
            eval_dataset=self.val_ds,
            data_collator=DataCollatorWithPadding(self.tokenizer, pad_to_multiple_of=8),
            compute_metrics=self._trainer_metrics,
            processing_class=self.tokenizer,
            lengths=[len(ids) for ids in self.train_ds.input_ids],
            metric_for_best="eval_f1",
            greater_is_better=True,
        )

    def _decode(self, predictions: Any) -> list[Decoded]:
        start, end = (np.asarray(p) for p in predictions[:2])
        return decode_windows(start, end, self.val_ds, [e.context for e in self.val], self.options())

    def _trainer_metrics(self, eval_pred: Any) -> dict[str, float]:
        """compute_metrics for the Trainer: exact match and F1 of the decoded answers (it adds "eval_")."""
        decoded = self._decode(eval_pred.predictions)
        return squad_metrics([d.best.text for d in decoded], [_golds(e) for e in self.val], prefix="")

    def finish(self, ctx: JobContext, outcome: Outcome) -> QAResult:
        pred, eval_loss = final_predictions(outcome, self.val_ds)
        decoded = self._decode(pred.predictions)
        answers = [d.best.text for d in decoded]
        metrics = {
            **squad_metrics(answers, [_golds(e) for e in self.val]),
            "eval_loss": eval_loss,
            **run_figures(ctx, outcome),
            "train_rows": len(self.train),
            "val_rows": len(self.val),
            "train_windows": len(self.train_ds),
            "max_length": self.max_length,
            "stride": self.stride,
        }
        emit_final_eval(ctx, metrics)
        result = QAResult(
            run_dir=ctx.record.path,
            model_dir=self.model_dir,
            metrics=metrics,
            unanswerable=self.unanswerable,
            mistakes=_mistakes(self.val, decoded),
            history=ctx.recorder.history,
        )
        ctx.state.progress(0.99, "Saving the model")
        if ctx.recorder.main:
            meta = {
                "task": "qa",
                "base_model": self.settings.base_model,
                "max_length": self.max_length,
                "stride": self.stride,
                "max_answer_tokens": self.settings.max_answer_tokens,
                "unanswerable": self.unanswerable,
            }
            save_model_folder(ctx, outcome, self.model_dir, (QA_FILE, meta), result)
        ctx.state.progress(
            1.0, f"Finished: exact match {metrics['eval_exact_match']:.3f}, F1 {metrics['eval_f1']:.3f}"
        )
        return result


def _golds(example: QAExample) -> list[str]:
    return [a.text for a in example.answers or []]


def _mistakes(examples: list[QAExample], decoded: list[Decoded]) -> list[dict]:
    """Held-out questions answered wrongly (F1 below 1), worst first."""
    rows = []
    for example, answer in zip(examples, decoded, strict=True):
        _, f1 = best_scores(answer.best.text, _golds(example))
        if f1 < 1.0:
            rows.append(
                {
                    "id": example.id,
                    "question": example.question,
                    "context": example.context,
                    "predicted": answer.best.text,
                    "start": answer.best.start,
                    "score": answer.best.score,
                    "answers": _golds(example),
                    "f1": f1,
                }
            )
    rows.sort(key=lambda r: (r["f1"], -r["score"]))
    return rows[:MAX_MISTAKES]


def train_qa(
    train: list[QAExample],
    val: list[QAExample],
    settings: QASettings,
    run_dir: Path,
    *,
    state: TaskState | None = None,
    on_event: EventFn | None = None,
    resume: bool = False,
    model_dir: Path | None = None,
) -> QAResult:
    """Train a question-answering model in `run_dir` (model in run_dir/"model" unless `model_dir`)."""
    run_dir = Path(run_dir)
    job = QAJob(train, val, settings, model_dir_for(run_dir, resume, model_dir))
    return run_job(job, run_dir, state=state, on_event=on_event, resume=resume)
