"""Between transformers' Trainer and the app: events, history, status, progress and cancel."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from lmstudio_app.core.tasks import TaskState
from lmstudio_app.core.training.record import RunRecord
from lmstudio_app.core.training.runtime import is_main_process

EventFn = Callable[[dict], None]
EVAL_KEYS_SKIPPED = ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "epoch")
ETA_AFTER_STEPS = 3  # the first steps include set-up: an ETA from them would mislead


class Recorder:
    """Keeps the history (memory + history.jsonl), forwards events, and updates status.json."""

    def __init__(self, record: RunRecord, on_event: EventFn | None, history: list[dict]) -> None:
        self.record, self.on_event, self.history = record, on_event, history
        self.main = is_main_process()
        if self.main:
            record.write_history(history)

    def emit(self, event: dict) -> None:
        """Every rank keeps the history in memory; only rank 0 writes it and tells the caller."""
        if event.get("type") in ("log", "eval"):
            self.history.append(event)
            if self.main:
                self.record.append_event(event)
        if self.on_event is not None and self.main:
            self.on_event(event)

    def say(self, message: str) -> None:
        self.emit({"type": "status", "message": message})

    def trim(self, step: int) -> None:
        """Forget events after `step` (a resumed or retried run repeats them)."""
        self.history[:] = [e for e in self.history if int(e.get("step", 0)) <= step]
        if self.main:
            self.record.write_history(self.history)

    def status(self, status: str, **fields: Any) -> None:
        if self.main:
            self.record.write_status(status, **fields)


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def make_bridge(state: TaskState, recorder: Recorder, effective_batch: int) -> Any:
    """A TrainerCallback that turns Trainer events into progress, events and cancellation."""
    from transformers import TrainerCallback

    from lmstudio_app.core.training.ranks import any_rank

    class Bridge(TrainerCallback):
        def __init__(self) -> None:
            self.cancelled = False
            self.t0 = time.perf_counter()
            self.step0 = 0
            self.fraction = 0.0  # progress never goes backwards, even when a retry starts over

        def on_train_begin(self, args, st, control, **kw):  # noqa: ANN001 (Trainer's signature)
            self.t0, self.step0 = time.perf_counter(), st.global_step
            recorder.status("running", step=st.global_step, max_steps=st.max_steps, message="training")

        def rate(self, st) -> tuple[float, float]:  # noqa: ANN001
            """(samples/s, seconds left); the ETA is NaN until a few steps have been timed."""
            done = st.global_step - self.step0
            elapsed = max(1e-9, time.perf_counter() - self.t0)
            if done <= 0:
                return 0.0, float("nan")
            eta = (
                (st.max_steps - st.global_step) * elapsed / done if done >= ETA_AFTER_STEPS else float("nan")
            )
            return done * effective_batch / elapsed, eta

        def on_step_end(self, args, st, control, **kw):  # noqa: ANN001
            sps, eta = self.rate(st)
            eta_text = f", ETA {duration(eta)}" if math.isfinite(eta) else ""
            self.fraction = max(self.fraction, st.global_step / max(1, st.max_steps))
            state.progress(
                self.fraction, f"Step {st.global_step}/{st.max_steps}, {sps:.1f} samples/s{eta_text}"
            )
            # Every rank stops at the same step, or the others would wait for it for ever.
            stop = any_rank(state.should_stop(), args.device) if args.world_size > 1 else state.should_stop()
            if stop and not self.cancelled:
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
                event = {"type": "eval", "step": st.global_step, "epoch": float(st.epoch or 0.0)}
                event.update(
                    (k, float(v))
                    for k, v in logs.items()
                    if k.startswith("eval_") and k not in EVAL_KEYS_SKIPPED and isinstance(v, int | float)
                )
                recorder.emit(event)

        def on_save(self, args, st, control, **kw):  # noqa: ANN001
            recorder.status(
                "running", step=st.global_step, max_steps=st.max_steps, message="checkpoint saved"
            )

    return Bridge()
