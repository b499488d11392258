"""What every job that puts a new head on a pre-trained encoder (sentence labels, word tags, extractive QA)
does the same way: its settings' checks, loading the base, loading it with the head, the run's closing
figures and the saved model folder.

Kept in one place so that the job kinds differ only in what is particular to them (data, head, metrics),
and a fix to, say, the model's length limit reaches every kind at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from lmstudio_app.core.errors import ModelSourceError, UserError
from lmstudio_app.core.jsonio import write_json
from lmstudio_app.core.models.family import require_encoder_base
from lmstudio_app.core.models.local import resolve_local
from lmstudio_app.core.models.quiet import quiet_transformers
from lmstudio_app.core.models.sources import DEFAULT_ENCODER
from lmstudio_app.core.training.engine import JobContext, Outcome
from lmstudio_app.core.training.record import METRICS_FILE, RunRecord
from lmstudio_app.core.training.result import RunResult
from lmstudio_app.core.training.settings import TrainSettings


@dataclass
class HeadSettings(TrainSettings):
    """The engine's settings plus what every head-on-an-encoder job has: its base, length and split."""

    MIN_LENGTH: ClassVar[int] = 8

    base_model: str = DEFAULT_ENCODER
    max_length: int = 128
    val_fraction: float = 0.2

    def check(self) -> None:
        super().check()
        if not self.MIN_LENGTH <= self.max_length <= 8192:
            raise UserError(
                f"Max length {self.max_length} is out of range: use {self.MIN_LENGTH} to 512 for BERT-like models."
            )
        if not 0 < self.val_fraction < 1:
            raise UserError(
                f"The validation fraction must be between 0 and 1 (exclusive), not {self.val_fraction}."
            )


@dataclass
class Base:
    """The encoder a job starts from, its tokenizer, and the max length it allows."""

    source: Any
    tokenizer: Any
    max_length: int


def default_tokenizer(path: Path | str) -> Any:
    import transformers

    return transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)


def load_base(
    ctx: JobContext,
    settings: HeadSettings,
    purpose: str,
    tokenizer_loader: Callable[[Path | str], Any] = default_tokenizer,
) -> Base:
    """Resolve and check the base (an encoder, not a decoder), load its tokenizer, and lower the max
    length to the model's limit, saying so in the run's log."""
    import transformers

    ctx.state.progress(0.0, "Loading the tokenizer")
    source = resolve_local(settings.base_model)
    with quiet_transformers():
        try:
            tokenizer = tokenizer_loader(source.path)
            config = transformers.AutoConfig.from_pretrained(source.path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelSourceError(f"Could not load {source.name}: {str(exc).splitlines()[0]}") from exc
    require_encoder_base(config, source.name, purpose)
    max_length = settings.max_length
    limit = getattr(config, "max_position_embeddings", None)
    if limit and max_length > limit:
        max_length = int(limit)
        ctx.recorder.say(f"max length lowered to {limit}, the model's limit")
    return Base(source, tokenizer, max_length)


def load_with_head(auto_class: Any, source: Any, purpose: str, **options: Any) -> Any:
    """The base with a new head (`auto_class`, e.g. AutoModelForTokenClassification), from local files."""
    with quiet_transformers():
        try:
            return auto_class.from_pretrained(
                source.path, local_files_only=True, use_safetensors=True, **options
            )
        except (OSError, ValueError, KeyError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelSourceError(f"Could not load {Path(source.path).name} for {purpose}: {first}") from exc


def final_predictions(outcome: Outcome, dataset: Any) -> tuple[Any, float]:
    """The trained model's raw predictions on `dataset` (the first output when there are several) and
    their loss."""
    with quiet_transformers():
        pred = outcome.trainer.predict(dataset, metric_key_prefix="eval")
    return pred, float(pred.metrics.get("eval_loss", float("nan")))


def first_output(predictions: Any) -> Any:
    return predictions[0] if isinstance(predictions, tuple) else predictions


def run_figures(ctx: JobContext, outcome: Outcome) -> dict[str, Any]:
    """How the training went, the same keys for every kind (metrics.json and the Results pages)."""
    metrics = outcome.output.metrics
    return {
        "train_loss": outcome.train_loss,
        "train_runtime_s": float(metrics.get("train_runtime", 0.0)),
        "train_samples_per_second": float(metrics.get("train_samples_per_second", 0.0)),
        "global_step": outcome.step,
        "last_step": outcome.last_step,
        "epoch": float(outcome.trainer.state.epoch or 0.0),
        "device": ctx.device,
        "precision": ctx.precision,
    }


def emit_final_eval(ctx: JobContext, metrics: dict[str, Any]) -> None:
    """The saved model's scores as the history's last evaluation (the plots end on them)."""
    ctx.recorder.emit(
        {
            "type": "eval",
            "step": metrics["global_step"],
            "epoch": metrics["epoch"],
            **{k: v for k, v in metrics.items() if k.startswith("eval_")},
            "final": True,
        }
    )


def save_model_folder(
    ctx: JobContext, outcome: Outcome, model_dir: Path, meta: tuple[str, dict], result: RunResult
) -> None:
    """The final (best) model as a Hugging Face folder (weights, config with its labels, tokenizer), the
    job's own metadata file `meta` = (name, content), and the metrics, in the folder and the run record."""
    model_dir.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        outcome.trainer.save_model(str(model_dir))
    name, content = meta
    write_json(model_dir / name, {**content, "settings": ctx.settings.to_dict()})
    write_json(model_dir / METRICS_FILE, result.metrics)
    ctx.record.write_metrics(result.metrics)
    ctx.record.write_results(result.to_dict())


def model_dir_for(run_dir: Path, resume: bool, model_dir: Path | None) -> Path:
    """Where the model goes: as asked, else where the resumed run said, else run_dir/"model"."""
    if model_dir is not None:
        return Path(model_dir)
    saved = RunRecord(run_dir).saved_settings().job.get("model_dir") if resume else None
    return Path(saved) if saved else Path(run_dir) / "model"
