"""Fine-tune a text classifier with transformers' Trainer; progress, cancel, resume and OOM retry.

The GUI imports this module lazily (inside a worker), so torch/transformers are imported inside the
functions only where it keeps `--help` and start-up fast. A run writes everything to its run folder
(see core/runs.py) so it can be listed, reopened and resumed later.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import shlex
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from lmstudio_app.core.data.labeled import LabeledData, label_sort_key
from lmstudio_app.core.data.table import DataError, read_table
from lmstudio_app.core.errors import DeviceError, ModelSourceError, UserError
from lmstudio_app.core.models.devices import default_device
from lmstudio_app.core.tasks import Cancelled, TaskState, ensure_state
from lmstudio_app.core.training import runs

EventFn = Callable[[dict], None]
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
FINETUNE_FILE = "finetune.json"
MAX_MISCLASSIFIED = 500
_ENCODE_CHUNK = 1000  # small chunks: the GIL is held while results become Python lists


@dataclass
class FineTuneSettings:
    """Everything that defines a fine-tuning job (saved in settings.json, shown as a command line)."""

    base_model: str = "all-MiniLM-L6-v2"
    text_column: str = "text"
    label_column: str = "label"
    text_pair_column: str | None = None
    epochs: float = 3.0
    learning_rate: float = 1e-4
    batch_size: int = 16
    max_length: int = 128
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    patience: int = 3  # evaluations without a better validation loss before stopping; 0 = never stop early
    seed: int = 42
    device: str = "auto"  # auto | cpu | cuda | cuda:0 | mps
    precision: str = "auto"  # auto (bf16/fp16 on GPUs that support them, fp32 on CPU) | fp32 | bf16 | fp16
    val_fraction: float = 0.2
    max_steps: int = -1  # > 0 limits training (tests, quick tries)
    grad_accum: int = 1  # gradient accumulation; doubled (with the batch halved) after an out-of-memory
    eval_steps: int = 0  # 0 = once per epoch (at least three times in a short run)
    name: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FineTuneSettings:
        """Build from a dict, ignoring unknown keys (settings saved by other versions still load)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in known})

    def check(self) -> None:
        """Refuse values that cannot work, with a message that says what to use."""
        if self.epochs <= 0 and self.max_steps <= 0:
            raise UserError("Epochs must be more than 0.")
        if not 0 < self.learning_rate < 1:
            raise UserError(f"Learning rate {self.learning_rate} is out of range: use e.g. 5e-5 to 1e-4.")
        if self.batch_size < 1 or self.grad_accum < 1:
            raise UserError("Batch size and gradient accumulation must be at least 1.")
        if not 8 <= self.max_length <= 8192:
            raise UserError(
                f"Max length {self.max_length} is out of range: use 8 to 512 for BERT-like models."
            )
        if not 0 <= self.warmup_ratio < 1:
            raise UserError("Warm-up must be a fraction of the training steps between 0 and 1.")
        if self.precision not in PRECISIONS:
            raise UserError(f"Unknown precision {self.precision!r}: choose one of {', '.join(PRECISIONS)}.")
        if self.patience < 0:
            raise UserError("Early-stopping patience must be 0 (off) or more.")


@dataclass
class FineTuneResult:
    """What the Results step shows; saved as results.json in the run folder."""

    run_dir: Path
    model_dir: Path
    metrics: dict
    labels: list[str]
    per_class: dict[str, dict]
    confusion: list[list[int]]
    misclassified: list[dict]
    history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("history")
        d["run_dir"], d["model_dir"] = str(self.run_dir), str(self.model_dir)
        return d


# ---------------------------------------------------------------- device and precision


def resolve_device(device: str) -> str:
    """'auto' -> the first CUDA GPU, else Apple MPS, else CPU; an absent device is a DeviceError."""
    import torch

    device = (device or "auto").strip().lower()
    if device == "auto":  # the same preference order as the device picker: GPU, then MPS, then CPU
        return default_device().split(":")[0]
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"{device} is not available on this machine (no CUDA GPU): use --device cpu.")
        index = device.partition(":")[2]
        if index not in ("", "0"):
            raise DeviceError(
                f"Training uses the first visible GPU: run with CUDA_VISIBLE_DEVICES={index} and --device cuda."
            )
        return "cuda"
    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError("Apple MPS is not available on this machine: use --device cpu.")
        return "mps"
    if device == "cpu":
        return "cpu"
    raise DeviceError(f"Unknown device {device!r}: use auto, cpu, cuda or mps.")


def resolve_precision(precision: str, device: str) -> str:
    """fp32 | bf16 | fp16 for this device: auto picks bf16 (else fp16) on CUDA and fp32 elsewhere."""
    import torch

    precision = (precision or "auto").lower()
    if precision not in PRECISIONS:
        raise UserError(f"Unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}.")
    if precision == "auto":
        if device == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if precision == "fp16" and device == "cpu":
        raise DeviceError("fp16 training is not supported on the CPU: use fp32 (or bf16).")
    if precision == "bf16" and device == "cuda" and not torch.cuda.is_bf16_supported():
        raise DeviceError("This GPU does not support bf16: use fp16 or fp32.")
    return precision


# ---------------------------------------------------------------- encoding


class EncodedDataset:
    """Token ids per row (int32 arrays, so 100k rows stay small) and label ids; items are dicts for the collator."""

    def __init__(self, ids: list[Any], types: list[Any] | None, labels: list[int]) -> None:
        self.ids, self.types, self.labels = ids, types, labels

    def __len__(self) -> int:
        return len(self.ids)

    def length_order(self) -> list[int]:
        """Row indices longest first: evaluation batches then need little padding, and the order is known."""
        return sorted(range(len(self.ids)), key=lambda i: -len(self.ids[i]))

    def __getitem__(self, i: int) -> dict:
        item = {"input_ids": self.ids[i].tolist(), "labels": self.labels[i]}
        if self.types is not None:
            item["token_type_ids"] = self.types[i].tolist()
        return item


def encode(
    tokenizer: Any,
    data: LabeledData,
    label_ids: dict[str, int],
    max_length: int,
    state: TaskState | None = None,
    what: str = "texts",
) -> tuple[EncodedDataset, int]:
    """Tokenize `data` (no padding: the collator pads each batch); returns the dataset and how many rows were cut."""
    import numpy as np

    state = ensure_state(state)
    n = len(data)
    ids: list[Any] = []
    types: list[Any] | None = [] if data.pairs is not None else None
    truncated = 0
    for start in range(0, n, _ENCODE_CHUNK):
        state.raise_if_stopped()
        state.progress(start / max(1, n), f"Tokenizing {what}: {start:,} of {n:,}")
        texts = data.texts[start : start + _ENCODE_CHUNK]
        pairs = data.pairs[start : start + _ENCODE_CHUNK] if data.pairs is not None else None
        kw = {"truncation": True, "return_attention_mask": False, "return_token_type_ids": pairs is not None}
        # One extra token tells which rows were longer than max_length; only those are encoded again.
        enc = tokenizer(texts, pairs, max_length=max_length + 1, **kw)
        long = [i for i, row in enumerate(enc["input_ids"]) if len(row) > max_length]
        if long:
            truncated += len(long)
            again = tokenizer(
                [texts[i] for i in long],
                [pairs[i] for i in long] if pairs is not None else None,
                max_length=max_length,
                **kw,
            )
            for j, i in enumerate(long):
                enc["input_ids"][i] = again["input_ids"][j]
                if pairs is not None:
                    enc["token_type_ids"][i] = again["token_type_ids"][j]
        ids.extend(np.asarray(row, dtype=np.int32) for row in enc["input_ids"])
        if types is not None:
            types.extend(np.asarray(row, dtype=np.int8) for row in enc["token_type_ids"])
    labels = [label_ids[lab] for lab in data.labels]
    return EncodedDataset(ids, types, labels), truncated


# ---------------------------------------------------------------- helpers


def is_oom(exc: BaseException) -> bool:
    """True for CUDA/MPS/CPU out-of-memory errors, whatever class torch used to raise them."""
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        s in text
        for s in ("out of memory", "can't allocate memory", "failed to allocate", "mps backend out of")
    )


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' info/warning chatter (load reports, Trainer notes) while we run it."""
    import transformers

    previous = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(previous)


def _is_main_process() -> bool:
    """Under `accelerate launch` only rank 0 writes the run files."""
    return os.environ.get("RANK", "0") == "0"


def class_labels(train: LabeledData, val: LabeledData) -> list[str]:
    return sorted(set(train.labels) | set(val.labels), key=label_sort_key)


def _steps_per_epoch(n_train: int, settings: FineTuneSettings) -> int:
    return max(1, math.ceil(math.ceil(n_train / settings.batch_size) / settings.grad_accum))


def planned_steps(n_train: int, settings: FineTuneSettings) -> int:
    """Optimizer steps the run will take (before early stopping)."""
    if settings.max_steps > 0:
        return settings.max_steps
    return max(1, math.ceil(settings.epochs * _steps_per_epoch(n_train, settings)))


def _eval_steps(n_train: int, settings: FineTuneSettings) -> int:
    if settings.eval_steps > 0:
        return settings.eval_steps
    total = planned_steps(n_train, settings)
    return max(1, min(_steps_per_epoch(n_train, settings), math.ceil(total / 3)))


# ---------------------------------------------------------------- the run


class _Recorder:
    """Keeps the history (memory + history.jsonl), forwards events, and updates status.json now and then."""

    def __init__(self, run_dir: Path, on_event: EventFn | None, history: list[dict]) -> None:
        self.run_dir, self.on_event, self.history = run_dir, on_event, history
        self.main = _is_main_process()
        if self.main:
            runs.write_history(run_dir, history)

    def emit(self, event: dict) -> None:
        if event.get("type") in ("log", "eval"):
            self.history.append(event)
            if self.main:
                with open(self.run_dir / runs.HISTORY_FILE, "a", encoding="utf-8") as f:
                    f.write(json.dumps(event) + "\n")
        if self.on_event is not None:
            self.on_event(event)

    def trim(self, step: int) -> None:
        """Forget events after `step` (a resumed or retried run repeats them)."""
        self.history[:] = [e for e in self.history if int(e.get("step", 0)) <= step]
        if self.main:
            runs.write_history(self.run_dir, self.history)

    def status(self, status: str, **fields: Any) -> None:
        if self.main:
            runs.write_status(self.run_dir, status, **fields)


def _make_bridge(state: TaskState, recorder: _Recorder, effective_batch: int) -> Any:
    """A TrainerCallback that turns Trainer events into progress, events and cancellation."""
    from transformers import TrainerCallback

    class Bridge(TrainerCallback):
        def __init__(self) -> None:
            self.cancelled = False
            self.t0 = time.perf_counter()
            self.step0 = 0

        def on_train_begin(self, args, st, control, **kw):  # noqa: ANN001 (Trainer's signature)
            self.t0, self.step0 = time.perf_counter(), st.global_step
            recorder.status("running", step=st.global_step, max_steps=st.max_steps, message="training")

        def rate(self, st) -> tuple[float, float]:  # noqa: ANN001
            done = st.global_step - self.step0
            elapsed = max(1e-9, time.perf_counter() - self.t0)
            if done <= 0:
                return 0.0, float("nan")
            return done * effective_batch / elapsed, (st.max_steps - st.global_step) * elapsed / done

        def on_step_end(self, args, st, control, **kw):  # noqa: ANN001
            sps, eta = self.rate(st)
            eta_text = f", ETA {_duration(eta)}" if math.isfinite(eta) else ""
            state.progress(
                st.global_step / max(1, st.max_steps),
                f"Step {st.global_step}/{st.max_steps}, {sps:.1f} samples/s{eta_text}",
            )
            if state.should_stop() and not self.cancelled:
                self.cancelled = True
                control.should_training_stop = True
                control.should_save = True  # the checkpoint a later resume continues from
                control.should_evaluate = False
            return control

        def on_log(self, args, st, control, logs=None, **kw):  # noqa: ANN001
            logs = logs or {}
            if "loss" in logs:
                sps, eta = self.rate(st)
                recorder.emit(
                    {
                        "type": "log",
                        "step": st.global_step,
                        "max_steps": st.max_steps,
                        "epoch": float(st.epoch or 0.0),
                        "loss": float(logs["loss"]),
                        "learning_rate": float(logs.get("learning_rate", 0.0)),
                        "samples_per_s": sps,
                        "eta_s": eta if math.isfinite(eta) else -1.0,
                    }
                )
            elif "eval_loss" in logs:
                recorder.emit(
                    {
                        "type": "eval",
                        "step": st.global_step,
                        "epoch": float(st.epoch or 0.0),
                        "eval_loss": float(logs["eval_loss"]),
                        "eval_accuracy": float(logs.get("eval_accuracy", float("nan"))),
                        "eval_macro_f1": float(logs.get("eval_macro_f1", float("nan"))),
                    }
                )

        def on_save(self, args, st, control, **kw):  # noqa: ANN001
            recorder.status(
                "running", step=st.global_step, max_steps=st.max_steps, message="checkpoint saved"
            )

    return Bridge()


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _compute_metrics(eval_pred: Any) -> dict:
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    logits = eval_pred.predictions[0] if isinstance(eval_pred.predictions, tuple) else eval_pred.predictions
    preds = np.argmax(logits, axis=-1)
    labels = eval_pred.label_ids
    return {
        "accuracy": float(accuracy_score(labels, preds)),
        "macro_f1": float(f1_score(labels, preds, average="macro", zero_division=0)),
    }


def _save_run_settings(
    run_dir: Path,
    settings: FineTuneSettings,
    labels: list[str],
    train: LabeledData,
    val: LabeledData,
    model_dir: Path,
) -> None:
    val_source = None if val.source.get("split") == "val" else (val.source or None)
    runs.write_json(
        run_dir / runs.SETTINGS_FILE,
        {
            "name": settings.name or run_dir.name,
            "settings": settings.to_dict(),
            "labels": labels,
            "data": train.source,
            "val_data": val_source,
            "model_dir": str(model_dir),
            "train_rows": len(train),
            "val_rows": len(val),
        },
    )


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
) -> FineTuneResult:
    """Train a classifier on `train`, evaluate on `val`, save a loadable HF folder; see module docs.

    Events (dicts, called on the training thread, so keep handlers cheap): log, eval, oom, status.
    Cancel (state.request_stop()) stops at the next step, saves a checkpoint, marks the run
    "cancelled" and raises Cancelled; `resume=True` continues from the newest checkpoint in run_dir.
    `model_dir` defaults to run_dir/"model" (the CLI writes the model into run_dir itself).
    """
    state = ensure_state(state)
    settings.check()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    saved = runs.read_json(run_dir / runs.SETTINGS_FILE)
    if model_dir is None:
        model_dir = Path(saved["model_dir"]) if resume and saved.get("model_dir") else run_dir / "model"
    model_dir = Path(model_dir)
    labels = class_labels(train, val)
    checkpoint: Path | None = None
    history: list[dict] = []
    if resume:
        found = runs.checkpoints(run_dir)
        if not found:
            raise UserError(f"{run_dir.name} has no checkpoint to resume from: start a new run instead.")
        checkpoint = found[-1]
        labels = saved.get("labels") or labels
        unknown = sorted(set(train.labels) - set(labels))
        if unknown:
            raise DataError(f"The data now has labels the run did not start with ({', '.join(unknown[:5])}).")
        history = runs.read_history(run_dir)
    if len(train) == 0:
        raise DataError("There are no training rows: add data or lower the validation fraction.")
    if len(val) == 0:
        raise DataError(
            "There are no validation rows: raise the validation fraction or give a validation file."
        )
    if len(set(train.labels)) < 2:
        raise DataError(
            "The training data has only one class: a classifier needs at least two different labels."
        )

    recorder = _Recorder(run_dir, on_event, history)
    if checkpoint is not None:
        recorder.trim(_checkpoint_step(checkpoint))
    if recorder.main:
        _save_run_settings(run_dir, settings, labels, train, val, model_dir)
    recorder.status("running", step=0, max_steps=planned_steps(len(train), settings), message="preparing")
    try:
        return _run(train, val, settings, run_dir, model_dir, labels, checkpoint, state, recorder)
    except Cancelled as exc:
        recorder.status("cancelled", message=str(exc) or "cancelled by the user")
        raise
    except UserError as exc:
        recorder.status("failed", message=str(exc))
        raise
    except BaseException as exc:
        recorder.status("failed", message=f"{type(exc).__name__}: {exc}".splitlines()[0])
        raise


def resolve_local(spec: str) -> Any:
    """Like sources.resolve, but a hub id must already be in the local cache: training never downloads."""
    from lmstudio_app.core.models.sources import ResolvedModel, check_folder, find_embedded, resolve

    spec = spec.strip()
    looks_like_path = spec.startswith(("/", ".", "~")) or "\\" in spec or spec.count("/") > 1
    if not spec or find_embedded(spec) is not None or Path(spec).expanduser().exists() or looks_like_path:
        return resolve(spec)  # embedded, a folder, or a clear "folder not found"
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(spec, local_files_only=True))
    except Exception as exc:  # not cached (or not a hub id at all): say what to do
        raise ModelSourceError(
            f"{spec} is not on this machine: load it once in the model manager (which downloads it), "
            "or pick a local folder or an embedded model."
        ) from exc
    check_folder(folder, origin=spec)
    return ResolvedModel(spec, folder, "hub", spec)


def _yield_to_the_gui_thread() -> None:
    """In a background thread, run this thread (and the torch threads it starts) at a lower priority.

    Training keeps every core busy; without this the window's thread waits for a time slice and the
    live plots stutter. At a lower priority training still gets all the CPU the window does not use.
    Linux only (thread ids are schedulable entities there); elsewhere, and in the CLI, nothing changes.
    """
    if threading.current_thread() is threading.main_thread() or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), 10))


def _preload_modules() -> None:
    """Import what the first evaluation and checkpoint would import mid-training, before the first step.

    A first import holds the GIL for up to a few hundred ms; done here it delays the start (while the
    GUI says "preparing") instead of freezing the live plots in the middle of training.
    """
    import importlib

    for name in ("sklearn.metrics", "torch.distributed.checkpoint.state_dict_saver", "transformers.trainer"):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _checkpoint_step(path: Path) -> int:
    return int(path.name.rpartition("-")[2])


def _run(
    train: LabeledData,
    val: LabeledData,
    settings: FineTuneSettings,
    run_dir: Path,
    model_dir: Path,
    labels: list[str],
    checkpoint: Path | None,
    state: TaskState,
    recorder: _Recorder,
) -> FineTuneResult:
    import transformers

    state.progress(0.0, "Loading the tokenizer")
    _yield_to_the_gui_thread()
    _preload_modules()
    device = resolve_device(settings.device)
    precision = resolve_precision(settings.precision, device)
    source = resolve_local(settings.base_model)
    with quiet_transformers():
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(source.path, local_files_only=True)
            config = transformers.AutoConfig.from_pretrained(source.path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelSourceError(f"Could not load {source.name}: {str(exc).splitlines()[0]}") from exc
    max_length = settings.max_length
    limit = getattr(config, "max_position_embeddings", None)
    if limit and max_length > limit:
        max_length = int(limit)
        recorder.emit({"type": "status", "message": f"max length lowered to {limit}, the model's limit"})
    label_ids = {name: i for i, name in enumerate(labels)}
    train_ds, truncated = encode(tokenizer, train, label_ids, max_length, state, "training texts")
    val_ds, val_truncated = encode(tokenizer, val, label_ids, max_length, state, "validation texts")
    train.truncated, val.truncated = truncated, val_truncated
    if truncated or val_truncated:
        recorder.emit(
            {
                "type": "status",
                "message": f"{truncated + val_truncated} text(s) longer than {max_length} tokens truncated",
            }
        )
    state.raise_if_stopped()
    settings = FineTuneSettings.from_dict(settings.to_dict())  # a copy: OOM retries change the batch size
    while True:
        trainer = None
        bridge = None
        try:
            trainer, bridge = _make_trainer(
                source.path,
                tokenizer,
                labels,
                train_ds,
                val_ds,
                settings,
                run_dir,
                device,
                precision,
                state,
                recorder,
            )
            recorder.emit(
                {
                    "type": "status",
                    "message": f"Training on {device} ({precision}), batch {settings.batch_size} x "
                    f"{settings.grad_accum}, {len(train)} rows"
                    + (f", resuming from step {_checkpoint_step(checkpoint)}" if checkpoint else ""),
                }
            )
            with quiet_transformers():
                output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
            break
        except Exception as exc:
            if not is_oom(exc):
                raise
            if settings.batch_size <= 1:
                raise UserError(
                    "Out of memory even with batch size 1: lower the max length, use a smaller model or the CPU."
                ) from exc
        # Out of memory: drop everything (outside the except block, so the traceback frees it too) and retry.
        trainer = bridge = None
        _free_memory(device)
        settings.batch_size //= 2
        settings.grad_accum *= 2
        found = runs.checkpoints(run_dir)
        checkpoint = found[-1] if found else None
        recorder.trim(_checkpoint_step(checkpoint) if checkpoint else 0)
        if recorder.main:
            _save_run_settings(run_dir, settings, labels, train, val, model_dir)
        message = (
            f"Out of memory: retrying with batch size {settings.batch_size} and gradient accumulation "
            f"{settings.grad_accum} (same effective batch)"
        )
        state.progress(0.0, message)
        recorder.emit(
            {
                "type": "oom",
                "batch_size": settings.batch_size,
                "grad_accum": settings.grad_accum,
                "message": message,
            }
        )
    step = trainer.state.global_step
    if bridge.cancelled:
        recorder.status(
            "cancelled", step=step, max_steps=trainer.state.max_steps, message=f"cancelled at step {step}"
        )
        raise Cancelled(f"cancelled at step {step}; the checkpoint is kept for resume")
    state.progress(0.97, "Evaluating")
    result = _evaluate(trainer, val, val_ds, labels, run_dir, model_dir, output, recorder)
    result.metrics.update(
        truncated=truncated + val_truncated, max_length=max_length, device=device, precision=precision
    )
    state.progress(0.99, "Saving the model")
    if recorder.main:
        with quiet_transformers():
            _save_model(trainer, model_dir, settings, labels, max_length, val, result)
        for ckpt in runs.checkpoints(run_dir):  # a finished run needs no optimizer state
            import shutil

            shutil.rmtree(ckpt, ignore_errors=True)
    recorder.status("finished", step=step, max_steps=trainer.state.max_steps, message="finished")
    state.progress(1.0, f"Finished: accuracy {result.metrics['eval_accuracy']:.3f}")
    return result


def _free_memory(device: str) -> None:
    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


def _trainer_class() -> type:
    """Trainer whose evaluation visits rows longest first (little padding, and predictions map back to rows)."""
    from transformers import Trainer

    class LengthOrderedTrainer(Trainer):
        def _get_eval_sampler(self, eval_dataset: Any) -> Any:
            if self.args.world_size <= 1 and isinstance(eval_dataset, EncodedDataset):
                return eval_dataset.length_order()
            return super()._get_eval_sampler(eval_dataset)

    return LengthOrderedTrainer


def _make_trainer(
    base_path: Path,
    tokenizer: Any,
    labels: list[str],
    train_ds: EncodedDataset,
    val_ds: EncodedDataset,
    settings: FineTuneSettings,
    run_dir: Path,
    device: str,
    precision: str,
    state: TaskState,
    recorder: _Recorder,
) -> tuple[Any, Any]:
    import transformers
    from transformers import (
        AutoModelForSequenceClassification,
        DataCollatorWithPadding,
        EarlyStoppingCallback,
        PrinterCallback,
        TrainingArguments,
    )

    transformers.set_seed(settings.seed)  # the new classification head starts the same for the same seed
    with quiet_transformers():
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                base_path,
                num_labels=len(labels),
                id2label=dict(enumerate(labels)),
                label2id={name: i for i, name in enumerate(labels)},
                ignore_mismatched_sizes=True,
                local_files_only=True,
                use_safetensors=True,
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ModelSourceError(
                f"Could not load {base_path.name} for classification: {exc}".splitlines()[0]
            ) from exc
    eval_steps = _eval_steps(len(train_ds), settings)
    total = planned_steps(len(train_ds), settings)
    early = settings.patience > 0
    args = TrainingArguments(
        output_dir=str(run_dir),
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        warmup_steps=settings.warmup_ratio,
        weight_decay=settings.weight_decay,
        seed=settings.seed,
        data_seed=settings.seed,
        use_cpu=device == "cpu",
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        eval_strategy="steps",
        eval_steps=eval_steps,
        save_strategy="steps",
        save_steps=eval_steps,
        save_total_limit=2 if early else 1,
        load_best_model_at_end=early,
        metric_for_best_model="eval_loss" if early else None,
        logging_strategy="steps",
        logging_steps=max(1, total // 500),
        train_sampling_strategy="group_by_length",
        report_to="none",
        disable_tqdm=True,
        log_level="error",
        dataloader_pin_memory=device == "cuda",
    )
    bridge = _make_bridge(state, recorder, settings.batch_size * settings.grad_accum)
    callbacks = [bridge] + (
        [EarlyStoppingCallback(early_stopping_patience=settings.patience)] if early else []
    )
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=val_ds,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(
            tokenizer, pad_to_multiple_of=8
        ),  # few distinct shapes: kernels reuse
        compute_metrics=_compute_metrics,
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log dict to stdout
    return trainer, bridge


def _evaluate(
    trainer: Any,
    val: LabeledData,
    val_ds: EncodedDataset,
    labels: list[str],
    run_dir: Path,
    model_dir: Path,
    output: Any,
    recorder: _Recorder,
) -> FineTuneResult:
    """Final predictions on the validation rows -> metrics, per-class scores, confusion, mistakes."""
    import numpy as np
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    with quiet_transformers():
        pred = trainer.predict(val_ds, metric_key_prefix="eval")
    logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
    logits = np.asarray(logits, dtype=np.float64)
    if trainer.args.world_size <= 1:  # predictions came in length order: put them back in row order
        ordered = np.empty_like(logits)
        ordered[np.asarray(val_ds.length_order())] = logits
        logits = ordered
    probs = _softmax(logits)
    y_pred = probs.argmax(axis=-1)
    y_true = np.asarray(val_ds.labels)
    if not np.array_equal(np.asarray(pred.label_ids), y_true[np.asarray(val_ds.length_order())]) and (
        trainer.args.world_size <= 1
    ):
        raise RuntimeError("validation predictions do not line up with their rows")
    ids = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=ids, zero_division=0
    )
    step = trainer.state.global_step
    metrics = {
        "eval_accuracy": float(accuracy_score(y_true, y_pred)),
        "eval_macro_f1": float(f1_score(y_true, y_pred, labels=ids, average="macro", zero_division=0)),
        "eval_weighted_f1": float(f1_score(y_true, y_pred, labels=ids, average="weighted", zero_division=0)),
        "eval_loss": float(pred.metrics.get("eval_loss", float("nan"))),
        "train_loss": float(getattr(output, "training_loss", float("nan"))),
        "train_runtime_s": float(output.metrics.get("train_runtime", 0.0)),
        "train_samples_per_second": float(output.metrics.get("train_samples_per_second", 0.0)),
        "global_step": int(step),
        "epoch": float(trainer.state.epoch or 0.0),
        "train_rows": len(trainer.train_dataset),
        "val_rows": len(val),
    }
    last_eval = next((e for e in reversed(recorder.history) if e.get("type") == "eval"), None)
    if (
        last_eval is None
        or last_eval.get("step") != step
        or abs(float(last_eval.get("eval_loss", 0.0)) - metrics["eval_loss"])
        > 1e-6  # the best model was loaded
    ):
        recorder.emit(
            {
                "type": "eval",
                "step": step,
                "epoch": metrics["epoch"],
                "eval_loss": metrics["eval_loss"],
                "eval_accuracy": metrics["eval_accuracy"],
                "eval_macro_f1": metrics["eval_macro_f1"],
                "final": True,
            }
        )
    mistakes = []
    for i in np.flatnonzero(y_pred != y_true):
        row = {
            "text": val.texts[i],
            "true": labels[int(y_true[i])],
            "predicted": labels[int(y_pred[i])],
            "score": float(probs[i, y_pred[i]]),
        }
        if val.pairs is not None:
            row["pair"] = val.pairs[i]
        mistakes.append(row)
    mistakes.sort(key=lambda r: -r["score"])  # confident mistakes first: the most telling ones
    return FineTuneResult(
        run_dir=run_dir,
        model_dir=model_dir,
        metrics=metrics,
        labels=labels,
        per_class={
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(labels)
        },
        confusion=confusion_matrix(y_true, y_pred, labels=ids).tolist(),
        misclassified=mistakes[:MAX_MISCLASSIFIED],
        history=recorder.history,
    )


def _softmax(x: Any) -> Any:
    import numpy as np

    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def _save_model(
    trainer: Any,
    model_dir: Path,
    settings: FineTuneSettings,
    labels: list[str],
    max_length: int,
    val: LabeledData,
    result: FineTuneResult,
) -> None:
    """The final (best) model as a Hugging Face folder plus our metadata and metrics."""
    model_dir.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(model_dir))  # weights (safetensors), config with id2label/label2id, tokenizer
    runs.write_json(
        model_dir / FINETUNE_FILE,
        {
            "base_model": settings.base_model,
            "labels": labels,
            "max_length": max_length,
            "text_pair": val.pairs is not None,
            "settings": settings.to_dict(),
        },
    )
    runs.write_json(model_dir / runs.METRICS_FILE, result.metrics)
    runs.write_json(result.run_dir / runs.METRICS_FILE, result.metrics)
    runs.write_json(result.run_dir / runs.RESULTS_FILE, result.to_dict())


def resume_run(
    run_dir: Path, *, state: TaskState | None = None, on_event: EventFn | None = None
) -> FineTuneResult:
    """Continue a cancelled (or crashed) run from its newest checkpoint, rebuilding its data from disk."""
    train, val, settings = runs.load_run_inputs(run_dir)
    return fine_tune(train, val, settings, Path(run_dir), state=state, on_event=on_event, resume=True)


def load_result(run_dir: Path) -> FineTuneResult:
    """Reopen a finished run's results (metrics, per-class scores, confusion, mistakes, history)."""
    run_dir = Path(run_dir)
    d = runs.read_json(run_dir / runs.RESULTS_FILE)
    if not d:
        raise UserError(
            f"{run_dir.name} has no results yet: it has not finished (resume it or start it again)."
        )
    return FineTuneResult(
        run_dir=run_dir,
        model_dir=Path(d.get("model_dir") or run_dir / "model"),
        metrics=d.get("metrics", {}),
        labels=d.get("labels", []),
        per_class=d.get("per_class", {}),
        confusion=d.get("confusion", []),
        misclassified=d.get("misclassified", []),
        history=runs.read_history(run_dir),
    )


# ---------------------------------------------------------------- using the fine-tuned model


_cache_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[float, Any, Any, int]] = {}


def _load_classifier(model_dir: Path, device: str) -> tuple[Any, Any, int]:
    """(model, tokenizer, max_length) for a fine-tuned folder; the last one is cached (type-to-predict)."""
    import torch
    import transformers

    model_dir = Path(model_dir)
    config_file = model_dir / "config.json"
    if not config_file.is_file():
        raise ModelSourceError(
            f"{model_dir} is not a model folder (no config.json): pick a fine-tuned model folder."
        )
    config = runs.read_json(config_file)
    if not any("ForSequenceClassification" in a for a in config.get("architectures") or []):
        raise ModelSourceError(
            f"{model_dir} is not a text classifier (no classification head): fine-tune it first."
        )
    key = (str(model_dir.resolve()), device)
    stamp = config_file.stat().st_mtime
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1], hit[2], hit[3]
        with quiet_transformers():
            try:
                tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
                model = transformers.AutoModelForSequenceClassification.from_pretrained(
                    model_dir, local_files_only=True, use_safetensors=True, dtype=torch.float32
                )
            except (OSError, ValueError) as exc:
                raise ModelSourceError(f"Could not load {model_dir}: {str(exc).splitlines()[0]}") from exc
        model.to(device).eval()
        meta = runs.read_json(model_dir / FINETUNE_FILE)
        max_length = int(
            meta.get("max_length") or min(512, getattr(model.config, "max_position_embeddings", 512))
        )
        _cache.clear()
        _cache[key] = (stamp, model, tokenizer, max_length)
        return model, tokenizer, max_length


def predict_texts(
    model_dir: Path,
    texts: list[str],
    pairs: list[str] | None = None,
    *,
    device: str = "cpu",
    batch_size: int = 32,
    state: TaskState | None = None,
) -> list[tuple[str, float]]:
    """(label, probability) for each text, batched by similar length; the model folder is cached."""
    import torch

    state = ensure_state(state)
    if pairs is not None and len(pairs) != len(texts):
        raise UserError("Give one second text per text (or none).")
    if not texts:
        return []
    model, tokenizer, max_length = _load_classifier(Path(model_dir), device)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]) + (len(pairs[i]) if pairs else 0))
    out: list[tuple[str, float] | None] = [None] * len(texts)
    id2label = model.config.id2label
    for start in range(0, len(order), batch_size):
        state.raise_if_stopped()
        idx = order[start : start + batch_size]
        enc = tokenizer(
            [texts[i] for i in idx],
            [pairs[i] for i in idx] if pairs is not None else None,
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        ).to(device)
        with torch.inference_mode():
            probs = torch.softmax(model(**enc).logits.float(), dim=-1)
        score, best = probs.max(dim=-1)
        for j, i in enumerate(idx):
            out[i] = (str(id2label[int(best[j])]), float(score[j]))
        state.progress(
            min(1.0, (start + len(idx)) / len(texts)), f"Predicted {start + len(idx):,} of {len(texts):,}"
        )
    return out  # type: ignore[return-value]


def predict_csv(
    model_dir: Path,
    csv_in: Path,
    text_column: str,
    csv_out: Path,
    *,
    text_pair_column: str | None = None,
    device: str = "cpu",
    state: TaskState | None = None,
) -> int:
    """Predict every row of a table; writes it to csv_out (UTF-8) with predicted_label and score columns."""
    state = ensure_state(state)
    csv_in, csv_out = Path(csv_in), Path(csv_out)
    if csv_out.resolve() == csv_in.resolve():
        raise UserError("The output file must differ from the input file (the input is never overwritten).")
    table = read_table(csv_in, state=state)
    for col in (text_column, text_pair_column):
        if col is not None and col not in table.columns:
            raise DataError(
                f"Column {col!r} is not in {csv_in.name}; its columns are: {', '.join(table.columns)}."
            )
    frame = table.frame.copy()
    texts = frame[text_column].astype(str).tolist()
    pairs = frame[text_pair_column].astype(str).tolist() if text_pair_column else None
    rows = [i for i, t in enumerate(texts) if t.strip()]
    results = predict_texts(
        Path(model_dir),
        [texts[i] for i in rows],
        [pairs[i] for i in rows] if pairs is not None else None,
        device=device,
        state=state,
    )
    labels, scores = [""] * len(texts), [""] * len(texts)
    for i, (label, score) in zip(rows, results, strict=True):
        labels[i], scores[i] = label, f"{score:.4f}"
    frame["predicted_label"] = labels
    frame["score"] = scores
    csv_out.parent.mkdir(parents=True, exist_ok=True)
    try:
        frame.to_csv(csv_out, index=False, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"Cannot write {csv_out}: {exc.strerror or exc}.") from exc
    return len(frame)


def export_onnx(model_dir: Path, out_file: Path) -> Path:
    """Export the classifier to ONNX (dynamic batch and sequence axes); needs the `onnx` package."""
    import importlib.util

    import torch

    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxscript") is None:
        raise UserError("ONNX export needs the onnx and onnxscript packages: pip install onnx onnxscript.")
    model, tokenizer, _ = _load_classifier(Path(model_dir), "cpu")
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(["an example", "another example text"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs, strict=True))).logits

    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    with quiet_transformers(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Wrapper().eval(),
            tuple(sample[n] for n in names),
            str(out_file),
            input_names=names,
            output_names=["logits"],
            dynamic_shapes={"inputs": tuple({0: batch, 1: seq} for _ in names)},
            dynamo=True,
            verbose=False,
        )
    return out_file


# ---------------------------------------------------------------- the same job elsewhere


def command_line(settings: FineTuneSettings, csv: Path, out_dir: Path, val_csv: Path | None = None) -> str:
    """The equivalent `lmstudio-app finetune ...` line (defaults of the extra options left out)."""
    default = FineTuneSettings()
    parts = ["lmstudio-app", "finetune", "-m", settings.base_model, "--csv", str(csv)]
    parts += ["--text-column", settings.text_column]
    if settings.text_pair_column:
        parts += ["--text-pair-column", settings.text_pair_column]
    parts += ["--label-column", settings.label_column, "-o", str(out_dir)]
    parts += ["--val-csv", str(val_csv)] if val_csv else ["--val-split", f"{settings.val_fraction:g}"]
    parts += ["--epochs", f"{settings.epochs:g}", "--lr", f"{settings.learning_rate:g}"]
    parts += ["--batch-size", str(settings.batch_size), "--max-length", str(settings.max_length)]
    parts += ["--seed", str(settings.seed)]
    extras = [
        ("--warmup-ratio", "warmup_ratio"),
        ("--weight-decay", "weight_decay"),
        ("--patience", "patience"),
        ("--grad-accum", "grad_accum"),
        ("--max-steps", "max_steps"),
        ("--device", "device"),
        ("--precision", "precision"),
    ]
    for flag, name in extras:
        value = getattr(settings, name)
        if value != getattr(default, name):
            parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return shlex.join(parts)


def accelerate_script(settings: FineTuneSettings, csv: Path, out_dir: Path) -> str:
    """A bash script that runs the same job with `accelerate launch` (one process per GPU, or a cluster node)."""
    args = shlex.split(command_line(settings, csv, out_dir))[1:]  # drop "lmstudio-app"
    lines, i = [], 0
    while i < len(args):  # one "--option value" per line
        if args[i].startswith("-") and i + 1 < len(args) and not args[i + 1].startswith("--"):
            lines.append(f"{args[i]} {shlex.quote(args[i + 1])}")
            i += 2
        else:
            lines.append(shlex.quote(args[i]))
            i += 1
    lines = [line for line in lines if not line.startswith("--device ")]  # accelerate places each process
    return (
        "#!/usr/bin/env bash\n"
        "# The same fine-tuning job on every GPU of this machine (or a cluster node) with accelerate.\n"
        "# Configure once with `accelerate config` (multi-node: set --num_machines/--machine_rank/--main_process_ip).\n"
        "# The batch size is per GPU: the effective batch is NUM_GPUS x batch size x gradient accumulation.\n"
        "set -euo pipefail\n"
        "NUM_GPUS=\"${NUM_GPUS:-$(python -c 'import torch; print(max(1, torch.cuda.device_count()))')}\"\n"
        'accelerate launch --num_processes "$NUM_GPUS" -m lmstudio_app \\\n    '
        + " \\\n    ".join(lines)
        + "\n"
    )
