"""The fine-tuning job: a text classifier trained by the engine (core/training/engine.py).

This module says only what is particular to a classifier: its labels, its encoded data, its model
with a new classification head, its metrics, and what it saves. Running, cancelling, resuming,
out-of-memory retries and the run folder belong to the engine.

MultiLabelJob is its variant for any number of labels per text, with transformers' own multi-label head:
problem_type "multi_label_classification" gives one sigmoid per label and a BCE loss on 0/1 float targets
(encode.py writes them). What differs is the evaluation (a threshold, micro/macro F1, per-label figures;
core/finetune/multilabel_eval.py) and what finetune.json says, so that predict and the GUI know the kind:
"multi_label", "threshold", "separator".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lmstudio_app.core.data.labeled import LabeledData, label_sort_key
from lmstudio_app.core.data.multilabel import JSON_LISTS
from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.finetune.datasets import DataPlan, build_splits
from lmstudio_app.core.finetune.encode import EncodedDataset, encode, length_ordered_trainer
from lmstudio_app.core.finetune.evaluate import evaluate_logits, misclassified, trainer_metrics
from lmstudio_app.core.finetune.multilabel_eval import evaluate_probs, sigmoid, trainer_metrics_at, wrong_rows
from lmstudio_app.core.finetune.settings import FINETUNE_FILE, FineTuneResult, FineTuneSettings
from lmstudio_app.core.tasks import TaskState
from lmstudio_app.core.training.bridge import EventFn
from lmstudio_app.core.training.engine import JobContext, Outcome, TrainerParts, run_job
from lmstudio_app.core.training.head_job import (
    emit_final_eval,
    final_predictions,
    first_output,
    load_base,
    load_with_head,
    model_dir_for,
    run_figures,
    save_model_folder,
)
from lmstudio_app.core.training.record import RunRecord, SavedSettings


def class_labels(train: LabeledData, val: LabeledData) -> list[str]:
    """Every class (multi-label data: every label) of either side, in label order."""
    return sorted(set(train.label_names) | set(val.label_names), key=label_sort_key)


class FineTuneJob:
    """Train a sequence classifier on `train`, evaluate on `val`, save a loadable HF folder."""

    kind = "finetune"
    multi_label = False  # one label per text (a softmax); MultiLabelJob: any number (a sigmoid each)

    def __init__(
        self,
        train: LabeledData,
        val: LabeledData,
        settings: FineTuneSettings,
        plan: DataPlan | None,
        model_dir: Path,
    ) -> None:
        self.train, self.val, self.settings, self.plan = train, val, settings.copy(), plan
        self.model_dir = Path(model_dir)
        self.labels = class_labels(train, val)
        self.tokenizer: Any = None
        self.source: Any = None
        self.max_length = settings.max_length
        self.train_ds: EncodedDataset | None = None
        self.val_ds: EncodedDataset | None = None
        self.truncated = 0

    def check(self) -> None:
        if len(self.train) == 0:
            raise DataError("There are no training rows: add data or lower the validation fraction.")
        if len(self.val) == 0:
            raise DataError(
                "There are no validation rows: raise the validation fraction or give a validation file."
            )
        if len(set(self.train.labels)) < 2:
            raise DataError(
                "The training data has only one class: a classifier needs at least two different labels."
            )
        if self.settings.threshold is not None:
            raise UserError("A threshold is for multi-label classification: read the labels as multi-label.")

    def resume_from(self, saved: SavedSettings) -> None:
        if bool(saved.job.get("multi_label")) != self.multi_label:
            was = "multi-label" if saved.job.get("multi_label") else "single-label"
            raise DataError(
                f"This run trained a {was} classifier: resume it reading the labels as it did "
                f"({'with' if saved.job.get('multi_label') else 'without'} --multi-label)."
            )
        labels = saved.job.get("labels") or self.labels
        unknown = sorted(set(self.train.label_names) - set(labels))
        if unknown:
            raise DataError(f"The data now has labels the run did not start with ({', '.join(unknown[:5])}).")
        self.labels = list(labels)

    def describe(self) -> dict:
        return {
            "labels": self.labels,
            "data_plan": self.plan.to_dict() if self.plan else None,
            "model_dir": str(self.model_dir),
            "train_rows": len(self.train),
            "val_rows": len(self.val),
        }

    def train_rows(self) -> int:
        return len(self.train)

    def prepare(self, ctx: JobContext) -> dict:
        base = load_base(ctx, self.settings, "fine-tuning a classifier")
        self.source, self.tokenizer, self.max_length = base.source, base.tokenizer, base.max_length
        label_ids = {name: i for i, name in enumerate(self.labels)}
        self.train_ds, truncated = encode(
            self.tokenizer, self.train, label_ids, self.max_length, ctx.state, "training texts"
        )
        self.val_ds, val_truncated = encode(
            self.tokenizer, self.val, label_ids, self.max_length, ctx.state, "validation texts"
        )
        self.train.truncated, self.val.truncated = truncated, val_truncated
        self.truncated = truncated + val_truncated
        if self.truncated:
            ctx.recorder.say(f"{self.truncated} text(s) longer than {self.max_length} tokens truncated")
        return {"max length": self.max_length, "classes": len(self.labels)}

    def trainer_parts(self, ctx: JobContext) -> TrainerParts:
        from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

        model = load_with_head(
            AutoModelForSequenceClassification,
            self.source,
            "classification",
            num_labels=len(self.labels),
            id2label=dict(enumerate(self.labels)),
            label2id={name: i for i, name in enumerate(self.labels)},
            ignore_mismatched_sizes=True,
        )
        return TrainerParts(
            model=model,
            train_dataset=self.train_ds,
            eval_dataset=self.val_ds,
            data_collator=DataCollatorWithPadding(
                self.tokenizer, pad_to_multiple_of=8
            ),  # few shapes: kernels reuse
            compute_metrics=trainer_metrics,
            trainer_class=length_ordered_trainer(),
            processing_class=self.tokenizer,
            lengths=[len(ids) for ids in self.train_ds.ids],
        )

    def finish(self, ctx: JobContext, outcome: Outcome) -> FineTuneResult:
        result = self._evaluate(ctx, outcome)
        result.metrics.update(truncated=self.truncated, max_length=self.max_length)
        ctx.state.progress(0.99, "Saving the model")
        if ctx.recorder.main:
            meta = {
                "base_model": self.settings.base_model,
                "labels": self.labels,
                "max_length": self.max_length,
                "text_pair": self.val.pairs is not None,
            }
            save_model_folder(ctx, outcome, self.model_dir, (FINETUNE_FILE, meta), result)
        ctx.state.progress(1.0, f"Finished: accuracy {result.metrics['eval_accuracy']:.3f}")
        return result

    def extra_metrics(self, logits: np.ndarray) -> dict[str, float]:
        """More figures from the final validation logits (in row order) for a job built on this one."""
        return {}

    def _evaluate(self, ctx: JobContext, outcome: Outcome) -> FineTuneResult:
        """Final predictions on the validation rows -> metrics, per-class scores, confusion, mistakes."""
        logits, y_true, eval_loss = validation_logits(outcome, self.val_ds)
        evaluation = evaluate_logits(logits, y_true, self.labels)
        metrics = {
            **evaluation.metrics,
            **self.extra_metrics(logits),
            "eval_loss": eval_loss,
            **run_figures(ctx, outcome),
            "train_rows": len(self.train),
            "val_rows": len(self.val),
        }
        report_final_eval(ctx, outcome, metrics)
        return FineTuneResult(
            run_dir=ctx.record.path,
            model_dir=self.model_dir,
            metrics=metrics,
            labels=self.labels,
            per_class=evaluation.per_class,
            confusion=evaluation.confusion,
            misclassified=misclassified(evaluation, y_true, self.labels, self.val.texts, self.val.pairs),
            history=ctx.recorder.history,
        )


MULTI_LABEL = "multi_label_classification"  # the config's problem_type: BCE with logits, a sigmoid per label


class MultiLabelJob(FineTuneJob):
    """A classifier whose labels each apply or not (a sigmoid per label and a threshold)."""

    multi_label = True

    @property
    def separator(self) -> str:
        """How the data's cells joined their labels (batch predictions write them back the same way)."""
        source = self.train.source
        return source.label_separator if source and source.label_separator is not None else JSON_LISTS

    def check(self) -> None:
        if len(self.train) == 0:
            raise DataError("There are no training rows: add data or lower the validation fraction.")
        if len(self.val) == 0:
            raise DataError(
                "There are no validation rows: raise the validation fraction or give a validation file."
            )
        if len(self.train.label_names) < 2:
            raise DataError(
                "The training data has fewer than two labels: a multi-label classifier needs at least two."
            )

    def describe(self) -> dict:
        return {**super().describe(), "multi_label": True, "label_separator": self.separator}

    def trainer_parts(self, ctx: JobContext) -> TrainerParts:
        parts = super().trainer_parts(ctx)
        parts.model.config.problem_type = MULTI_LABEL  # saved in config.json
        parts.compute_metrics = trainer_metrics_at(self.settings.threshold)
        return parts

    def finish(self, ctx: JobContext, outcome: Outcome) -> FineTuneResult:
        result = self._evaluate(ctx, outcome)
        result.metrics.update(truncated=self.truncated, max_length=self.max_length)
        ctx.state.progress(0.99, "Saving the model")
        if ctx.recorder.main:
            meta = {
                "base_model": self.settings.base_model,
                "labels": self.labels,
                "max_length": self.max_length,
                "text_pair": self.val.pairs is not None,
                "multi_label": True,
                "threshold": result.threshold,
                "threshold_source": result.metrics["threshold_source"],
                "separator": self.separator,
            }
            save_model_folder(ctx, outcome, self.model_dir, (FINETUNE_FILE, meta), result)
        m = result.metrics
        ctx.state.progress(
            1.0, f"Finished: micro-F1 {m['eval_micro_f1']:.3f}, macro-F1 {m['eval_macro_f1']:.3f}"
        )
        return result

    def _evaluate(self, ctx: JobContext, outcome: Outcome) -> FineTuneResult:
        """Final probabilities on the validation rows -> the threshold, micro/macro F1, per-label figures and
        the rows whose labels came out wrong."""
        logits, y_true, eval_loss = validation_logits(outcome, self.val_ds)
        evaluation = evaluate_probs(sigmoid(logits), y_true, self.labels, self.settings.threshold)
        metrics = {
            **evaluation.metrics,
            "eval_loss": eval_loss,
            **run_figures(ctx, outcome),
            "train_rows": len(self.train),
            "val_rows": len(self.val),
            "per_label": evaluation.per_label,
        }
        report_final_eval(ctx, outcome, metrics)
        return FineTuneResult(
            run_dir=ctx.record.path,
            model_dir=self.model_dir,
            metrics=metrics,
            labels=self.labels,
            per_class=evaluation.per_label,
            misclassified=wrong_rows(evaluation, y_true, self.labels, self.val.texts, self.val.pairs),
            history=ctx.recorder.history,
            multi_label=True,
            threshold=metrics["eval_threshold"],
        )


def validation_logits(outcome: Outcome, val_ds: EncodedDataset) -> tuple[np.ndarray, np.ndarray, float]:
    """(logits, labels, loss) of the trained model on the validation rows, in row order."""
    pred, eval_loss = final_predictions(outcome, val_ds)
    logits = np.asarray(first_output(pred.predictions), dtype=np.float64)
    y_true = np.asarray(val_ds.labels)
    if outcome.trainer.args.world_size <= 1:  # predictions came in length order: put them back in row order
        order = np.asarray(val_ds.length_order())
        if not np.array_equal(np.asarray(pred.label_ids), y_true[order]):
            raise RuntimeError("validation predictions do not line up with their rows")
        ordered = np.empty_like(logits)
        ordered[order] = logits
        logits = ordered
    return logits, y_true, eval_loss


def report_final_eval(ctx: JobContext, outcome: Outcome, metrics: dict) -> None:
    """The saved model's scores as the last evaluation, unless the last one already was of this model."""
    last_eval = next(
        (e for e in reversed(ctx.recorder.history) if e.get("type") == "eval" and e["step"] == outcome.step),
        None,
    )
    if last_eval is None or abs(float(last_eval.get("eval_loss", 0.0)) - metrics["eval_loss"]) > 1e-6:
        emit_final_eval(ctx, metrics)


def fine_tune(
    train: LabeledData,
    val: LabeledData,
    settings: FineTuneSettings,
    run_dir: Path,
    *,
    state: TaskState | None = None,
    on_event: EventFn | None = None,
    resume: bool = False,
    model_dir: Path | None = None,
    plan: DataPlan | None = None,
) -> FineTuneResult:
    """Train a classifier in `run_dir` (see FineTuneJob and the engine for what happens); multi-label data
    (read with several labels per row) trains a MultiLabelJob.

    `model_dir` defaults to run_dir/"model" (the CLI writes the model into run_dir itself); `plan`
    (how to read the data again, for resume) defaults to the one (train, val) came from.
    """
    run_dir = Path(run_dir)
    model_dir = model_dir_for(run_dir, resume, model_dir)
    if plan is None and train.source is not None:
        plan = DataPlan.of(train, val)
    job_class = MultiLabelJob if train.label_sets is not None else FineTuneJob
    job = job_class(train, val, settings, plan, model_dir)
    return run_job(job, run_dir, state=state, on_event=on_event, resume=resume)


def resume_run(
    run_dir: Path, *, state: TaskState | None = None, on_event: EventFn | None = None
) -> FineTuneResult:
    """Continue a cancelled or interrupted run from its newest checkpoint, rebuilding its data from disk."""
    saved = RunRecord(Path(run_dir)).saved_settings()
    if not saved.job:
        raise UserError(f"{run_dir} has no settings.json with its data: it cannot be resumed.")
    plan = DataPlan.from_saved(saved.job)
    train, val = build_splits(plan, state=state)
    settings = FineTuneSettings.from_dict(saved.settings)
    return fine_tune(
        train, val, settings, Path(run_dir), state=state, on_event=on_event, resume=True, plan=plan
    )
