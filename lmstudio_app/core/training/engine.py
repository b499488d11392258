"""One training engine for every job kind: a Job says what to train, the engine owns the run's life.

The engine runs a job with transformers' Trainer and takes care of what every kind needs alike: the
run folder (owned with a lock, written only through RunRecord), the settings in force said at the
start, progress and cancel through TaskState (a checkpoint is kept on cancel), exact resume from the
newest checkpoint, the out-of-memory policy (core/training/oom.py), restoring the best checkpoint
and saying which step it was, and the status the runs list shows. A job kind (fine-tune, masked-LM
pre-training) only builds its data, model and metrics, and saves its result.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.jsonio import OutputError, disk_refusal
from lmstudio_app.core.models.devices import release_memory
from lmstudio_app.core.models.precision import is_oom, resolve_device, resolve_precision
from lmstudio_app.core.models.quiet import quiet_transformers
from lmstudio_app.core.tasks import Cancelled, TaskState, ensure_state
from lmstudio_app.core.training.bridge import EventFn, Recorder, make_bridge
from lmstudio_app.core.training.oom import smaller_batch
from lmstudio_app.core.training.ranks import (
    bind_device,
    gather_for_rank_0,
    per_process_batch,
    stop_when_asked,
    wait_for_all,
    world_size,
)
from lmstudio_app.core.training.record import RunRecord, SavedSettings
from lmstudio_app.core.training.runtime import is_main_process, preload_modules, yield_to_the_gui_thread
from lmstudio_app.core.training.settings import TrainSettings


@dataclass
class TrainerParts:
    """What a job hands the engine to build a Trainer with."""

    model: Any
    train_dataset: Any
    eval_dataset: Any
    data_collator: Any
    compute_metrics: Callable[[Any], dict] | None = None
    trainer_class: type | None = None  # a Trainer subclass; default transformers.Trainer
    lengths: list[int] | None = None  # tokens per training row: batches of similar length
    metric_for_best: str = "eval_loss"
    greater_is_better: bool = False
    processing_class: Any = None  # the tokenizer, saved with the model and checkpoints
    arguments: dict[str, Any] = field(default_factory=dict)  # extra TrainingArguments


@dataclass
class JobContext:
    """The run as a job sees it while it prepares, trains and finishes."""

    record: RunRecord
    recorder: Recorder
    state: TaskState
    device: str
    precision: str
    settings: TrainSettings  # the live copy: an out-of-memory retry changes its batch
    checkpoint: Path | None = None


@dataclass
class Outcome:
    """How training ended, for the job's final evaluation and report."""

    trainer: Any
    output: Any  # Trainer.train()'s TrainOutput
    step: int  # the step of the model in hand: the best checkpoint's when it was restored
    last_step: int
    train_loss: float  # mean over the whole run, resumed parts included


class Job(Protocol):
    kind: str  # "finetune", "pretrain", ...
    settings: TrainSettings

    def check(self) -> None:
        """Refuse bad settings or data before anything is written."""

    def resume_from(self, saved: SavedSettings) -> None:
        """Take what the run started with (e.g. its class list) when it is resumed."""

    def describe(self) -> dict:
        """The job's own part of settings.json (data plan, labels, model folder, ...)."""

    def prepare(self, ctx: JobContext) -> dict:
        """Load the tokenizer and encode the data; return extra settings in force to report."""

    def train_rows(self) -> int: ...

    def trainer_parts(self, ctx: JobContext) -> TrainerParts:
        """A fresh model and the datasets (called again after an out-of-memory retry)."""

    def finish(self, ctx: JobContext, outcome: Outcome) -> Any:
        """Final evaluation, saving the model and results; returns the job's result."""


def run_job(
    job: Job,
    run_dir: Path,
    *,
    state: TaskState | None = None,
    on_event: EventFn | None = None,
    resume: bool = False,
) -> Any:
    """Train `job` in `run_dir` (a new folder, or `resume=True` to continue its newest checkpoint).

    Events (dicts, called on the training thread, so keep handlers cheap): log, eval, oom, status.
    Cancel (state.request_stop()) stops at the next step, saves a checkpoint, marks the run
    "cancelled" and raises Cancelled.

    Under torchrun every rank calls this; rank 0 owns the folder (its lock, every file but the ranks'
    own random states in checkpoints) and speaks (events, status), the others only train with it.
    """
    state = ensure_state(state)
    job.settings.processes = world_size()
    job.settings.check()
    job.check()
    record = RunRecord(Path(run_dir))
    main = is_main_process()
    if main:
        record.check_start(resume)
    with record.owned() if main else contextlib.nullcontext(), stop_when_asked(state):
        history: list[dict] = []
        checkpoint: Path | None = None
        if resume:
            saved = record.saved_settings()
            job.resume_from(saved)
            for key in ("batch_size", "grad_accum"):  # keep what an out-of-memory retry changed
                if key in saved.settings:
                    setattr(job.settings, key, saved.settings[key])
            checkpoint = record.checkpoints()[-1]
            history = record.history()
            per_process_batch(job.settings.batch_size, job.settings.processes)  # another N than before
        recorder = Recorder(record, on_event, history)
        if checkpoint is not None:
            recorder.trim(_step_of(checkpoint))
        _save_settings(record, recorder, job)
        planned = job.settings.planned_steps(job.train_rows())
        recorder.status("running", step=0, max_steps=planned, message="preparing")
        try:
            return _train(job, record, recorder, state, checkpoint)
        except Cancelled as exc:
            recorder.status("cancelled", message=str(exc) or "cancelled by the user")
            raise
        except KeyboardInterrupt:  # a second Ctrl+C (the GUI's "Stop now"): the last checkpoint still resumes
            recorder.status("cancelled", message="stopped at once; the last saved checkpoint is kept")
            raise
        except UserError as exc:
            with contextlib.suppress(OutputError):
                recorder.status("failed", message=str(exc))
            raise
        except BaseException as exc:
            refused = disk_refusal(exc, record.path)
            message = str(refused) if refused else f"{type(exc).__name__}: {exc}".splitlines()[0]
            with contextlib.suppress(OutputError):  # a full disk may refuse the status file too
                recorder.status("failed", message=message)
            if refused is not None:
                raise refused from exc
            raise


def _save_settings(record: RunRecord, recorder: Recorder, job: Job) -> None:
    if recorder.main:
        saved = SavedSettings(
            job.kind, job.settings.name or record.path.name, job.settings.to_dict(), job.describe()
        )
        record.write_settings(saved)


def _step_of(checkpoint: Path) -> int:
    return int(checkpoint.name.rpartition("-")[2])


def _train(job: Job, record: RunRecord, recorder: Recorder, whole: TaskState, checkpoint: Path | None) -> Any:
    """Preparing is the first 5 % of the progress bar, training up to 97 %, the final evaluation the rest."""
    state = whole.stage(0.0, 0.05)
    state.progress(0.0, "Preparing")
    yield_to_the_gui_thread()
    preload_modules()
    device = resolve_device(job.settings.device)
    bind_device(device)
    precision = resolve_precision(job.settings.precision, device)
    ctx = JobContext(record, recorder, state, device, precision, job.settings, checkpoint)
    extra = job.prepare(ctx)
    recorder.say(job.settings.summary(device, precision, extra))
    state.raise_if_stopped()
    ctx.state = whole.stage(0.05, 0.97)
    while True:
        trainer = bridge = None
        try:
            trainer, bridge = _make_trainer(job, ctx)
            resuming = f", resuming from step {_step_of(ctx.checkpoint)}" if ctx.checkpoint else ""
            recorder.say(f"Training {job.train_rows():,} rows on {device} ({precision}){resuming}")
            with quiet_transformers():
                output = trainer.train(resume_from_checkpoint=str(ctx.checkpoint) if ctx.checkpoint else None)
            break
        except Exception as exc:
            if not is_oom(exc):
                raise
            if ctx.settings.processes > 1:  # the ranks cannot retry together: one would wait for the others
                raise UserError(
                    f"Out of memory with {ctx.settings.processes} processes: lower the batch size or the max "
                    "length (a smaller batch is retried automatically in one process only)."
                ) from exc
            smaller = smaller_batch(ctx.settings.batch_size, ctx.settings.grad_accum)
            if smaller is None:
                raise UserError(
                    "Out of memory even with batch size 1: lower the max length, use a smaller model or the CPU."
                ) from exc
        # Out of memory: drop everything (outside the except block, so the traceback frees it too) and retry.
        trainer = bridge = None
        release_memory(device)
        ctx.settings.batch_size, ctx.settings.grad_accum = smaller
        found = record.checkpoints()
        ctx.checkpoint = found[-1] if found else None
        recorder.trim(_step_of(ctx.checkpoint) if ctx.checkpoint else 0)
        _save_settings(record, recorder, job)
        message = (
            f"Out of memory: retrying with batch size {ctx.settings.batch_size} and gradient accumulation "
            f"{ctx.settings.grad_accum} (same effective batch)"
        )
        ctx.state.progress(-1.0, message)
        recorder.emit(
            {
                "type": "oom",
                "batch_size": ctx.settings.batch_size,
                "grad_accum": ctx.settings.grad_accum,
                "message": message,
            }
        )
    last = trainer.state.global_step
    if bridge.cancelled:
        recorder.status(
            "cancelled", step=last, max_steps=trainer.state.max_steps, message=f"cancelled at step {last}"
        )
        wait_for_all()
        raise Cancelled(f"cancelled at step {last}; the checkpoint is kept for resume")
    step = last
    best = trainer.state.best_model_checkpoint
    if trainer.args.load_best_model_at_end and best and _step_of(Path(best)) != last:
        step = _step_of(Path(best))
        recorder.say(
            f"Restored the best model, from step {step} ({trainer.args.metric_for_best_model} "
            f"{trainer.state.best_metric:.4f}); training went on to step {last} without improving"
        )
    gather_for_rank_0(trainer)
    outcome = Outcome(trainer, output, step, last, _mean_train_loss(recorder.history, output))
    ctx.state = whole.stage(0.97, 1.0)
    ctx.state.progress(0.0, "Evaluating")
    result = job.finish(ctx, outcome)
    if recorder.main:
        for ckpt in record.checkpoints():  # a finished run needs no optimizer state
            shutil.rmtree(ckpt, ignore_errors=True)
    recorder.status("finished", step=last, max_steps=trainer.state.max_steps, message="finished")
    return result


def _mean_train_loss(history: list[dict], output: Any) -> float:
    """The training loss over every step of the run (Trainer's own figure covers only the resumed part)."""
    total, steps, previous = 0.0, 0, 0
    for event in history:
        if event.get("type") == "log" and "loss" in event:
            step = int(event["step"])
            if step > previous:
                total += float(event["loss"]) * (step - previous)
                steps += step - previous
                previous = step
    if steps:
        return total / steps
    return float(getattr(output, "training_loss", float("nan")))


def _make_trainer(job: Job, ctx: JobContext) -> tuple[Any, Any]:
    import transformers
    from transformers import EarlyStoppingCallback, PrinterCallback, TrainingArguments

    from lmstudio_app.core.training.sampler import exact_resume  # imports torch: only when training

    settings = ctx.settings
    transformers.set_seed(settings.seed)  # a new head starts the same for the same seed
    parts = job.trainer_parts(ctx)
    rows = per_process_batch(settings.batch_size, settings.processes)  # the batch is the global one
    n = len(parts.train_dataset)
    interval = settings.evaluation_interval(n)
    total = settings.planned_steps(n)
    early = settings.patience > 0
    args = TrainingArguments(
        output_dir=str(ctx.record.path),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=rows,
        per_device_eval_batch_size=rows,
        gradient_accumulation_steps=settings.grad_accum,
        warmup_steps=settings.warmup_ratio,
        weight_decay=settings.weight_decay,
        seed=settings.seed,
        data_seed=settings.seed,
        use_cpu=ctx.device == "cpu",
        bf16=ctx.precision == "bf16",
        fp16=ctx.precision == "fp16",
        eval_strategy="steps",
        eval_steps=interval,
        save_strategy="steps",
        save_steps=interval,
        save_total_limit=2 if early else 1,
        load_best_model_at_end=early,
        metric_for_best_model=parts.metric_for_best if early else None,
        greater_is_better=parts.greater_is_better if early else None,
        logging_strategy="steps",
        logging_steps=max(1, total // 500),
        report_to="none",
        disable_tqdm=True,
        log_level="error",
        dataloader_pin_memory=ctx.device == "cuda",
        # Every job's loss is a mean over what one process sees; scaling it by the number of processes
        # (transformers' default for models whose forward takes **kwargs) would multiply the gradients.
        average_tokens_across_devices=False,
        **parts.arguments,
    )
    bridge = make_bridge(ctx.state, ctx.recorder, settings.effective_batch)
    callbacks = [bridge] + (
        [EarlyStoppingCallback(early_stopping_patience=settings.patience)] if early else []
    )
    trainer = exact_resume(parts.trainer_class or transformers.Trainer, parts.lengths)(
        model=parts.model,
        args=args,
        train_dataset=parts.train_dataset,
        eval_dataset=parts.eval_dataset,
        data_collator=parts.data_collator,
        processing_class=parts.processing_class,
        compute_metrics=parts.compute_metrics,
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log dict to stdout
    # The loss is that mean, so the Trainer must divide it over gradient accumulation; it skips that for a
    # model whose forward takes **kwargs (BERT's do), which doubled the gradients at accumulation 2.
    trainer.model_accepts_loss_kwargs = False
    return trainer, bridge
