"""The pre-training job: masked-LM (+ NSP) training on the user's text, run by the training engine.

This module says only what is particular to pre-training: the packed examples and their fixed held-out
masks, the model (with a head added when it lacks one), the loss α·L_MLM + β·L_NSP, the held-out
figures and probe predictions at every evaluation, and what it saves. Running, cancelling, resuming,
out-of-memory retries and the run folder belong to the engine (core/training/engine.py).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.errors import ModelSourceError, UserError
from lmstudio_app.core.jsonio import write_json
from lmstudio_app.core.models.local import resolve_local
from lmstudio_app.core.models.quiet import quiet_transformers
from lmstudio_app.core.pretrain.corpus import Corpus, TextSource, build_corpus
from lmstudio_app.core.pretrain.data import (
    Example,
    PretrainCollator,
    build_examples,
    count_tokens,
    fixed_masks,
    tokenize_documents,
)
from lmstudio_app.core.pretrain.evaluate import check_probes, held_out_metrics, predict_probes
from lmstudio_app.core.pretrain.model import ModelPlan, load_model, plan_model, pretraining_loss
from lmstudio_app.core.pretrain.settings import PRETRAIN_FILE, PretrainResult, PretrainSettings
from lmstudio_app.core.tasks import TaskState
from lmstudio_app.core.training.bridge import EventFn
from lmstudio_app.core.training.engine import JobContext, Outcome, TrainerParts, run_job
from lmstudio_app.core.training.record import METRICS_FILE, RunRecord, SavedSettings

KIND = "pretrain"


def autocast(device: str, precision: str) -> Any:
    """The same mixed precision the Trainer trains in, for the evaluations the job runs itself."""
    import torch

    if precision not in ("bf16", "fp16"):
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type="cuda" if device.startswith("cuda") else device, dtype=dtype)


class PretrainJob:
    """Continue masked-LM (+ NSP) pre-training of a model on `corpus`; save a loadable HF folder."""

    kind = KIND

    def __init__(
        self, corpus: Corpus, source: TextSource, settings: PretrainSettings, model_dir: Path
    ) -> None:
        self.corpus, self.source, self.settings = corpus, source, settings.copy()
        self.model_dir = Path(model_dir)
        self.plan: ModelPlan | None = None
        self.tokenizer: Any = None
        self.train_examples: list[Example] = []
        self.eval_examples: list[Example] = []
        self.tokens = 0
        self.collator: PretrainCollator | None = None
        self.eval_collator: PretrainCollator | None = None

    # ---- the Job protocol ----------------------------------------------------------------------
    def check(self) -> None:
        if not self.corpus.train or not self.corpus.held_out:
            raise DataError("The text is too short to train on and hold some out: give more lines.")
        unmasked = check_probes(self.settings.probes)
        if unmasked:
            raise UserError(
                f"The probe sentence {unmasked[0]!r} has no [MASK]: put [MASK] where a word is missing."
            )
        source = resolve_local(self.settings.base_model)
        self.plan = plan_model(source.path, source.name, self.settings.nsp)

    def resume_from(self, saved: SavedSettings) -> None:
        """The text and objective are rebuilt from settings.json by resume_run; nothing else to take."""

    def describe(self) -> dict:
        return {
            "text": self.source.to_dict(),
            "model_dir": str(self.model_dir),
            "documents": self.corpus.documents,
            "lines": self.corpus.lines,
            "held_out_lines": self.corpus.held_out_lines,
            "notes": self.plan.notes if self.plan else [],
        }

    def train_rows(self) -> int:
        return len(self.train_examples) or sum(len(d) for d in self.corpus.train)

    def prepare(self, ctx: JobContext) -> dict:
        import transformers

        ctx.state.progress(0.0, "Loading the tokenizer")
        with quiet_transformers():
            try:
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                    self.plan.path, local_files_only=True
                )
                config = transformers.AutoConfig.from_pretrained(self.plan.path, local_files_only=True)
            except (OSError, ValueError) as exc:
                raise ModelSourceError(
                    f"Could not load {self.plan.name}: {str(exc).splitlines()[0]}"
                ) from exc
        if self.tokenizer.mask_token_id is None:
            raise UserError(
                f"The tokenizer of {self.plan.name} has no mask token: it cannot be pre-trained as a masked LM."
            )
        if not self.tokenizer.is_fast:
            raise UserError(
                f"{self.plan.name} has no fast tokenizer (tokenizer.json): pick a model that ships one."
            )
        settings = ctx.settings
        limit = getattr(config, "max_position_embeddings", None)
        if limit and settings.max_length > limit:
            settings.max_length = int(limit)
            ctx.recorder.say(f"max length lowered to {limit}, the model's limit")
        for note in self.plan.notes:
            ctx.recorder.say(note)
        train_docs = tokenize_documents(self.tokenizer, self.corpus.train, ctx.state, "training text")
        eval_docs = tokenize_documents(self.tokenizer, self.corpus.held_out, ctx.state, "held-out text")
        self.tokens = count_tokens(train_docs)
        self.train_examples = build_examples(self.tokenizer, train_docs, settings, settings.seed)
        held_out = build_examples(self.tokenizer, eval_docs, settings, settings.eval_seed)
        if not self.train_examples or not held_out:
            raise DataError("The text has no words the tokenizer keeps: give real sentences.")
        self.eval_examples = fixed_masks(self.tokenizer, held_out, settings)
        self.collator = PretrainCollator(self.tokenizer, settings)
        self.eval_collator = PretrainCollator(self.tokenizer, settings, pad_to_multiple_of=0)
        ctx.recorder.say(f"Objective: {settings.objective()}")
        return {
            "training tokens": f"{self.tokens:,}",
            "sequences": f"{len(self.train_examples):,}",
            "held-out sequences": f"{len(self.eval_examples):,}",
            "max length": settings.max_length,
        }

    def trainer_parts(self, ctx: JobContext) -> TrainerParts:
        model = load_model(self.plan)
        if ctx.checkpoint is None and not _before_event(ctx.recorder.history):
            ctx.state.progress(0.0, "Scoring the starting model on the held-out text")
            model.to(ctx.device)
            before, probes = (
                self.measure(model, ctx),
                predict_probes(model, self.tokenizer, ctx.settings.probes),
            )
            ctx.recorder.emit(
                {"type": "eval", "step": 0, "epoch": 0.0, "before": True, **before, "probes": probes}
            )
        return TrainerParts(
            model=model,
            train_dataset=self.train_examples,
            eval_dataset=self.eval_examples,
            data_collator=self.collator,
            trainer_class=pretrain_trainer(self, ctx),
            processing_class=self.tokenizer,
            arguments={"remove_unused_columns": False},
        )

    def finish(self, ctx: JobContext, outcome: Outcome) -> PretrainResult:
        model = outcome.trainer.model
        after = self.measure(model, ctx)
        probes_after = predict_probes(model, self.tokenizer, ctx.settings.probes)
        before_event = _before_event(ctx.recorder.history) or {}
        before = {k: v for k, v in before_event.items() if k.startswith("eval_")}
        metrics = {
            **after,
            "train_loss": outcome.train_loss,
            "train_runtime_s": float(outcome.output.metrics.get("train_runtime", 0.0)),
            "train_tokens": self.tokens,
            "train_sequences": len(self.train_examples),
            "held_out_sequences": len(self.eval_examples),
            "global_step": outcome.step,
            "last_step": outcome.last_step,
            "epoch": float(outcome.trainer.state.epoch or 0.0),
            "device": ctx.device,
            "precision": ctx.precision,
            "before": before,
        }
        last = next((e for e in reversed(ctx.recorder.history) if e.get("type") == "eval"), {})
        if last.get("step") != outcome.step or abs(last.get("eval_loss", 0.0) - after["eval_loss"]) > 1e-6:
            ctx.recorder.emit(
                {"type": "eval", "step": outcome.step, "epoch": metrics["epoch"], "final": True, **after}
            )
        result = PretrainResult(
            run_dir=ctx.record.path,
            model_dir=self.model_dir,
            metrics=metrics,
            before=before,
            probes_before=before_event.get("probes", []),
            probes_after=probes_after,
            notes=self.plan.notes,
            history=ctx.recorder.history,
        )
        ctx.state.progress(0.99, "Saving the model")
        if ctx.recorder.main:
            self._save(ctx, outcome, result)
        ctx.state.progress(
            1.0,
            f"Finished: held-out top-1 {after['eval_mlm_top1']:.3f}, perplexity {after['eval_perplexity']:.1f}",
        )
        return result

    # ---- helpers the trainer calls -------------------------------------------------------------
    def measure(self, model: Any, ctx: JobContext) -> dict[str, float]:
        s = ctx.settings
        return held_out_metrics(
            model,
            self.eval_examples,
            self.eval_collator,
            alpha=s.alpha,
            beta=s.beta if s.nsp else 0.0,
            batch_size=s.batch_size,
            autocast=lambda: autocast(ctx.device, ctx.precision),
        )

    def emit_probes(self, model: Any, ctx: JobContext, step: int) -> None:
        if not ctx.settings.probes:
            return
        probes = predict_probes(model, self.tokenizer, ctx.settings.probes)
        ctx.recorder.emit({"type": "probes", "step": step, "probes": probes})

    def _save(self, ctx: JobContext, outcome: Outcome, result: PretrainResult) -> None:
        """The final model as a Hugging Face folder (fp32 weights, tokenizer) plus what the run did."""
        self.model_dir.mkdir(parents=True, exist_ok=True)
        with quiet_transformers():
            outcome.trainer.save_model(str(self.model_dir))
        write_json(
            self.model_dir / PRETRAIN_FILE,
            {
                "base_model": self.settings.base_model,
                "objective": ctx.settings.objective(),
                "text": self.source.to_dict(),
                "notes": self.plan.notes,
                "before": result.before,
                "after": {k: v for k, v in result.metrics.items() if k.startswith("eval_")},
                "settings": ctx.settings.to_dict(),
            },
        )
        write_json(self.model_dir / METRICS_FILE, result.metrics)
        ctx.record.write_metrics(result.metrics)
        ctx.record.write_results(result.to_dict())


def _before_event(history: list[dict]) -> dict | None:
    return next((e for e in history if e.get("type") == "eval" and e.get("before")), None)


def pretrain_trainer(job: PretrainJob, ctx: JobContext) -> type:
    """A Trainer whose loss is α·L_MLM + β·L_NSP and whose evaluation scores the fixed held-out masks."""
    from transformers import Trainer

    settings = ctx.settings
    beta = settings.beta if settings.nsp else 0.0

    class PretrainTrainer(Trainer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.model_accepts_loss_kwargs = (
                False  # our loss is a per-batch mean: divide it over accumulation
            )

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # noqa: ANN001, ANN202
            if "labels" not in inputs:
                inputs = job.collator.mask(inputs)
            with autocast(ctx.device, ctx.precision):
                loss, _ = pretraining_loss(model, inputs, settings.alpha, beta)
            return (loss, None) if return_outputs else loss

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):  # noqa: ANN001, ANN202
            metrics: dict[str, float] = job.measure(self.model, ctx)
            self.log(dict(metrics))
            self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
            job.emit_probes(self.model, ctx, self.state.global_step)
            return metrics

    return PretrainTrainer


def pretrain(
    corpus: Corpus,
    source: TextSource,
    settings: PretrainSettings,
    run_dir: Path,
    *,
    state: TaskState | None = None,
    on_event: EventFn | None = None,
    resume: bool = False,
    model_dir: Path | None = None,
) -> PretrainResult:
    """Pre-train in `run_dir` (model in run_dir/"model" unless `model_dir`); see PretrainJob and the engine."""
    run_dir = Path(run_dir)
    if model_dir is None:
        saved = RunRecord(run_dir).saved_settings().job.get("model_dir") if resume else None
        model_dir = Path(saved) if saved else run_dir / "model"
    job = PretrainJob(corpus, source, settings, model_dir)
    return run_job(job, run_dir, state=state, on_event=on_event, resume=resume)


def resume_run(
    run_dir: Path, *, state: TaskState | None = None, on_event: EventFn | None = None
) -> PretrainResult:
    """Continue a cancelled or interrupted run from its newest checkpoint, reading its text again."""
    saved = RunRecord(Path(run_dir)).saved_settings()
    if saved.kind != KIND or not saved.job.get("text"):
        raise UserError(
            f"{run_dir} is not a pre-training run with its text in settings.json: it cannot be resumed here."
        )
    settings = PretrainSettings.from_dict(saved.settings)
    source = TextSource.from_dict(saved.job["text"])
    corpus = build_corpus(source, settings.held_out_fraction, settings.seed, state)
    return pretrain(corpus, source, settings, Path(run_dir), state=state, on_event=on_event, resume=True)
