"""The fine-tuning job: a text classifier trained by the engine (core/training/engine.py).

This module says only what is particular to a classifier: its labels, its encoded data, its model
with a new classification head, its metrics, and what it saves. Running, cancelling, resuming,
out-of-memory retries and the run folder belong to the engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lmstudio_app.core.data.labeled import LabeledData, label_sort_key
from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.errors import ModelSourceError, UserError
from lmstudio_app.core.finetune.datasets import DataPlan, build_splits
from lmstudio_app.core.finetune.encode import EncodedDataset, encode, length_ordered_trainer
from lmstudio_app.core.finetune.evaluate import evaluate_logits, misclassified, trainer_metrics
from lmstudio_app.core.finetune.settings import FINETUNE_FILE, FineTuneResult, FineTuneSettings
from lmstudio_app.core.jsonio import write_json
from lmstudio_app.core.models.family import require_encoder_base
from lmstudio_app.core.models.local import resolve_local
from lmstudio_app.core.models.quiet import quiet_transformers
from lmstudio_app.core.tasks import TaskState
from lmstudio_app.core.training.bridge import EventFn
from lmstudio_app.core.training.engine import JobContext, Outcome, TrainerParts, run_job
from lmstudio_app.core.training.record import METRICS_FILE, RunRecord, SavedSettings


def class_labels(train: LabeledData, val: LabeledData) -> list[str]:
    return sorted(set(train.labels) | set(val.labels), key=label_sort_key)


class FineTuneJob:
    """Train a sequence classifier on `train`, evaluate on `val`, save a loadable HF folder."""

    kind = "finetune"

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

    def resume_from(self, saved: SavedSettings) -> None:
        labels = saved.job.get("labels") or self.labels
        unknown = sorted(set(self.train.labels) - set(labels))
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
        import transformers

        ctx.state.progress(0.0, "Loading the tokenizer")
        self.source = resolve_local(self.settings.base_model)
        with quiet_transformers():
            try:
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                    self.source.path, local_files_only=True
                )
                config = transformers.AutoConfig.from_pretrained(self.source.path, local_files_only=True)
            except (OSError, ValueError) as exc:
                raise ModelSourceError(
                    f"Could not load {self.source.name}: {str(exc).splitlines()[0]}"
                ) from exc
        require_encoder_base(config, self.source.name, "fine-tuning a classifier")
        limit = getattr(config, "max_position_embeddings", None)
        if limit and self.max_length > limit:
            self.max_length = int(limit)
            ctx.recorder.say(f"max length lowered to {limit}, the model's limit")
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

        with quiet_transformers():
            try:
                model = AutoModelForSequenceClassification.from_pretrained(
                    self.source.path,
                    num_labels=len(self.labels),
                    id2label=dict(enumerate(self.labels)),
                    label2id={name: i for i, name in enumerate(self.labels)},
                    ignore_mismatched_sizes=True,
                    local_files_only=True,
                    use_safetensors=True,
                )
            except (OSError, ValueError, KeyError) as exc:
                raise ModelSourceError(
                    f"Could not load {Path(self.source.path).name} for classification: {exc}".splitlines()[0]
                ) from exc
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
        result.metrics.update(
            truncated=self.truncated, max_length=self.max_length, device=ctx.device, precision=ctx.precision
        )
        ctx.state.progress(0.99, "Saving the model")
        if ctx.recorder.main:
            self._save(ctx, outcome, result)
        ctx.state.progress(1.0, f"Finished: accuracy {result.metrics['eval_accuracy']:.3f}")
        return result

    def _evaluate(self, ctx: JobContext, outcome: Outcome) -> FineTuneResult:
        """Final predictions on the validation rows -> metrics, per-class scores, confusion, mistakes."""
        trainer, val_ds = outcome.trainer, self.val_ds
        with quiet_transformers():
            pred = trainer.predict(val_ds, metric_key_prefix="eval")
        logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
        logits = np.asarray(logits, dtype=np.float64)
        y_true = np.asarray(val_ds.labels)
        if trainer.args.world_size <= 1:  # predictions came in length order: put them back in row order
            order = np.asarray(val_ds.length_order())
            if not np.array_equal(np.asarray(pred.label_ids), y_true[order]):
                raise RuntimeError("validation predictions do not line up with their rows")
            ordered = np.empty_like(logits)
            ordered[order] = logits
            logits = ordered
        evaluation = evaluate_logits(logits, y_true, self.labels)
        metrics = {
            **evaluation.metrics,
            "eval_loss": float(pred.metrics.get("eval_loss", float("nan"))),
            "train_loss": outcome.train_loss,
            "train_runtime_s": float(outcome.output.metrics.get("train_runtime", 0.0)),
            "train_samples_per_second": float(outcome.output.metrics.get("train_samples_per_second", 0.0)),
            "global_step": outcome.step,
            "last_step": outcome.last_step,
            "epoch": float(trainer.state.epoch or 0.0),
            "train_rows": len(self.train),
            "val_rows": len(self.val),
        }
        history = ctx.recorder.history
        last_eval = next(
            (e for e in reversed(history) if e.get("type") == "eval" and e["step"] == outcome.step), None
        )
        if last_eval is None or abs(float(last_eval.get("eval_loss", 0.0)) - metrics["eval_loss"]) > 1e-6:
            ctx.recorder.emit(
                {
                    "type": "eval",
                    "step": outcome.step,
                    "epoch": metrics["epoch"],
                    "eval_loss": metrics["eval_loss"],
                    "eval_accuracy": metrics["eval_accuracy"],
                    "eval_macro_f1": metrics["eval_macro_f1"],
                    "final": True,
                }
            )
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

    def _save(self, ctx: JobContext, outcome: Outcome, result: FineTuneResult) -> None:
        """The final (best) model as a Hugging Face folder plus our metadata and metrics."""
        self.model_dir.mkdir(parents=True, exist_ok=True)
        with quiet_transformers():
            outcome.trainer.save_model(str(self.model_dir))  # safetensors, config with id2label, tokenizer
        write_json(
            self.model_dir / FINETUNE_FILE,
            {
                "base_model": self.settings.base_model,
                "labels": self.labels,
                "max_length": self.max_length,
                "text_pair": self.val.pairs is not None,
                "settings": ctx.settings.to_dict(),
            },
        )
        write_json(self.model_dir / METRICS_FILE, result.metrics)
        ctx.record.write_metrics(result.metrics)
        ctx.record.write_results(result.to_dict())


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
    """Train a classifier in `run_dir` (see FineTuneJob and the engine for what happens).

    `model_dir` defaults to run_dir/"model" (the CLI writes the model into run_dir itself); `plan`
    (how to read the data again, for resume) defaults to the one (train, val) came from.
    """
    run_dir = Path(run_dir)
    if model_dir is None:
        saved = RunRecord(run_dir).saved_settings().job.get("model_dir") if resume else None
        model_dir = Path(saved) if saved else run_dir / "model"
    if plan is None and train.source is not None:
        plan = DataPlan.of(train, val)
    job = FineTuneJob(train, val, settings, plan, model_dir)
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
