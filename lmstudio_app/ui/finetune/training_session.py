"""One fine-tune (new or resumed) running in a Worker, with its events relayed to the GUI thread.

`core.training.fine_tune` calls `on_event(dict)` on the training thread. A `_Relay` QObject that lives on
the GUI thread emits a Signal(dict) from there, so Qt queues the delivery; the slot only appends to a
list, and a timer hands the batch to the plots a few times a second, keeping the GUI thread free.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from lmstudio_app.core.tasks import TaskState
from lmstudio_app.ui.qthreading import Worker

FLUSH_MS = 200
# Showing the Train page lays out and paints its curves, log and buttons (~40 ms); a training thread
# that starts at the same moment competes for the GIL and both cores and stretched that to ~100 ms.
FIRST_PAINT_S = 0.15
_ACTIVE: set[TrainingSession] = set()


def active_sessions() -> list[TrainingSession]:
    """Sessions whose training thread is still running (for 'close the app during training?')."""
    return [s for s in _ACTIVE if s.running]


class _Relay(QObject):
    event = Signal(dict)


@contextlib.contextmanager
def _priority_restored() -> Iterator[None]:
    """The core lowers a training thread's priority (so the window stays smooth); this pool thread runs
    other jobs next (model loads, predictions), so its priority is put back afterwards. Linux only."""
    tid = threading.get_native_id()
    try:
        before = os.getpriority(os.PRIO_PROCESS, tid)
    except (AttributeError, OSError):
        before = None
    try:
        yield
    finally:
        if before is not None:
            with contextlib.suppress(OSError):  # lowering the nice value again may need privileges
                os.setpriority(os.PRIO_PROCESS, tid, before)


def _train_job(
    train: Any, val: Any, settings: dict, run_dir: Path, on_event: Any, plan: Any, *, state: TaskState
) -> Any:
    from lmstudio_app.core.finetune.job import fine_tune
    from lmstudio_app.core.finetune.settings import FineTuneSettings

    with _priority_restored():
        return fine_tune(
            train,
            val,
            FineTuneSettings.from_dict(settings),
            run_dir,
            state=state,
            on_event=on_event,
            plan=plan,
        )


def _resume_job(run_dir: Path, on_event: Any, *, state: TaskState) -> Any:
    from lmstudio_app.core.finetune.job import resume_run

    state.progress(-1, "Reading the run's data again")
    with _priority_restored():
        return resume_run(run_dir, state=state, on_event=on_event)


def _after_first_paint(fn: Any, *args: Any, state: TaskState) -> Any:
    """Run `fn` once the window has had time to show the page that started it (at once if stopped)."""
    deadline = time.monotonic() + FIRST_PAINT_S
    while time.monotonic() < deadline and not state.should_stop():
        time.sleep(0.01)
    return fn(*args, state=state)


class TrainingSession(QObject):
    """Start with `start_new` or `start_resume`; connect to the signals first."""

    events = Signal(list)  # batched log/eval events
    log_line = Signal(str)  # status and out-of-memory messages, for the log
    progress = Signal(float, str)
    succeeded = Signal(object)  # FineTuneResult
    failed = Signal(str, str)  # message, details
    cancelled = Signal()
    finished = Signal()  # always last

    def __init__(self, run_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.worker: Worker | None = None
        self.history: list[dict] = []
        self.last_log: dict = {}
        self.last_eval: dict = {}
        self.oom_retries = 0
        self._pending: list[dict] = []
        self._relay = _Relay(self)
        self._relay.event.connect(self._on_event)
        self._timer = QTimer(self, interval=FLUSH_MS, timeout=self.flush)

    @property
    def running(self) -> bool:
        return self.worker is not None and not self.worker.done

    def start_new(self, train: Any, val: Any, settings: dict, plan: Any = None) -> None:
        self._start(_train_job, train, val, settings, self.run_dir, self._relay.event.emit, plan)

    def start_resume(self) -> None:
        """Continue the run from its newest checkpoint (data rebuilt from the run's settings.json)."""
        self._start(_resume_job, self.run_dir, self._relay.event.emit)

    def _start(self, fn: Any, *args: Any) -> None:
        # Trainer.train() runs a full gc.collect() on the training thread, holding the GIL (and so freezing the
        # window) for ~0.5 s with torch and transformers loaded. Freezing what exists now (modules, widgets:
        # objects that live as long as the app) into the permanent generation makes such collections cheap.
        gc.freeze()
        self.worker = Worker(_after_first_paint, fn, *args)
        self.worker.progress.connect(self.progress)
        self.worker.result.connect(self._on_result)
        self.worker.error.connect(self._on_error)
        self.worker.cancelled.connect(self._on_cancelled)
        self.worker.finished.connect(self._on_finished)
        _ACTIVE.add(self)
        self._timer.start()
        self.worker.start()

    def cancel(self) -> None:
        """Stop at the next step; the core keeps a checkpoint so the run can be resumed."""
        if self.worker is not None:
            self.worker.cancel()

    def wait(self, timeout_ms: int = 120_000) -> bool:
        """Block until the training thread has finished (used when the app closes)."""
        from PySide6.QtCore import QDeadlineTimer, QThread

        deadline = QDeadlineTimer(timeout_ms)
        while self.running and not deadline.hasExpired():
            QThread.msleep(20)
        return not self.running

    def _on_event(self, event: dict) -> None:
        kind = event.get("type")
        if kind in ("log", "eval"):
            self._pending.append(event)
            if kind == "log":
                self.last_log = event
            else:
                self.last_eval = event
        elif kind == "oom":
            self.oom_retries += 1
            self.log_line.emit(
                f"Out of memory: {event.get('message', '')} (now batch size {event.get('batch_size')}, "
                f"gradient accumulation {event.get('grad_accum')})"
            )
        elif event.get("message"):
            self.log_line.emit(str(event["message"]))

    def flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.history.extend(batch)
            self.events.emit(batch)

    def _on_result(self, result: Any) -> None:
        self.flush()
        self.succeeded.emit(result)

    def _on_error(self, message: str, details: str) -> None:
        self.flush()
        self.failed.emit(message, details)

    def _on_cancelled(self) -> None:
        self.flush()
        self.cancelled.emit()

    def _on_finished(self) -> None:
        self.flush()
        self._timer.stop()
        _ACTIVE.discard(self)
        self.finished.emit()
