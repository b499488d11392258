"""One training run in a child process of our own CLI, followed by the GUI through the run's events file.

The child is `lmstudio-app finetune|pretrain --settings RUN/launch.json -o RUN --events RUN/events.jsonl` (a
resume: `--resume -o RUN`), in a session of its own: a crash or an out-of-memory in training cannot take the
window with it, the window never imports the training stack, and closing the window may leave the run going.
A QTimer reads the new whole lines of the events file a few times a second (no thread; core/training/events.py)
and hands the log/eval events to the plots in one batch. Cancel sends SIGINT, the CLI's Ctrl+C (stop at the
next step and keep a checkpoint); a second Cancel ends the process at once. A reopened app follows a running
run again through the same file (`follow`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.training.events import EventFollower, latest_invocation, process_alive
from lmstudio_app.core.training.record import EVENTS_FILE, LAUNCH_FILE, LOG_FILE, RunRecord

FLUSH_MS = 200
# The page that starts a run paints and builds its plots first; the process's start-up (imports, the model)
# competes for the cores and stretched that to 60-70 ms (31-36 ms once it starts after them).
START_AFTER_MS = 250
KILL_AFTER_MS = 10_000  # after a second Cancel: how long the process may take to end before it is killed
TERM_GRACE_MS = 3_000  # after SIGTERM: how long a launcher may take to end its ranks before SIGKILL
NICE = 10  # the training process runs at a lower priority: the window gets the CPU it needs first
_ACTIVE: set[TrainingSession] = set()
_LEFT: list[subprocess.Popen] = []  # processes left running by this app: reaped, so that none looks alive


def active_sessions() -> list[TrainingSession]:
    """Sessions that follow a training process still going (for 'close the app during training?')."""
    return [s for s in _ACTIVE if s.running]


def cli_command() -> list[str]:
    """How to run our own CLI in a child process: the interpreter that runs the GUI, or the PyInstaller
    bundle itself (packaging/entry.py: the bundle is the `lmstudio-app` command)."""
    return [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "lmstudio_app"]


def last_line(path: Path) -> str:
    """The last non-empty line of a log (the error a process said last), without our "error:" prefix."""
    with contextlib.suppress(OSError):
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 8192))
            lines = [ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        if lines:
            return lines[-1].removeprefix("lmstudio-app: error: ")
    return ""


class TrainingSession(QObject):
    """Start with `start_new` or `start_resume` (or `follow` a run started earlier); connect to the signals
    first. A job kind subclasses it with its own `command`, `launch_spec` and `load_result`."""

    command = "finetune"  # the CLI subcommand that trains this kind of job

    events = Signal(list)  # batched log/eval events
    log_line = Signal(str)  # status and out-of-memory messages, for the log
    progress = Signal(float, str)
    succeeded = Signal(object)  # the job's result (FineTuneResult, ...)
    failed = Signal(str, str)  # message, details
    cancelled = Signal()
    finished = Signal()  # always last

    def __init__(self, run_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.process: subprocess.Popen | None = None
        self.pid = 0  # the process to signal: ours, or the one a followed run's events name
        self.history: list[dict] = []
        self.last_log: dict = {}
        self.last_eval: dict = {}
        self.oom_retries = 0
        self.stops = 0  # Cancel presses
        self._following = False
        self._drawn_step = -1  # a followed run's events up to this step were drawn from its history
        self._end: dict | None = None
        self._pending: list[dict] = []
        self._follower = EventFollower(self.run_dir / EVENTS_FILE)
        self._timer = QTimer(self, interval=FLUSH_MS, timeout=self.poll)

    @property
    def running(self) -> bool:
        return self._following

    # ---- what a job kind says ------------------------------------------------------------------------
    def launch_spec(self, train: Any, val: Any, settings: dict, plan: Any) -> dict:
        """The new run in the layout of a run's settings.json: kind, name, settings and where the data is."""
        if plan is None:
            from lmstudio_app.core.finetune.datasets import DataPlan

            plan = DataPlan.of(train, val)
        return {
            "kind": "finetune",
            "name": settings.get("name", ""),
            "settings": settings,
            "data_plan": plan.to_dict(),
        }

    def load_result(self, run_dir: Path) -> Any:
        from lmstudio_app.core.finetune.settings import FineTuneResult

        return FineTuneResult.load(run_dir)

    # ---- starting, following -------------------------------------------------------------------------
    def start_new(self, train: Any, val: Any, settings: dict, plan: Any = None) -> None:
        """Write the run's launch file and start the training process on it."""
        from lmstudio_app.core.jsonio import write_json

        launch = self.run_dir / LAUNCH_FILE
        write_json(launch, self.launch_spec(train, val, settings, plan))
        self._start(["--settings", str(launch)])

    def start_resume(self) -> None:
        """Continue the run from its newest checkpoint (its data read again as its settings.json says)."""
        self._start(["--resume"])

    def _start(self, how: list[str]) -> None:
        """Running (and cancellable) at once; the process starts START_AFTER_MS later."""
        self._begin()
        QTimer.singleShot(START_AFTER_MS, self, lambda: self._launch(how))

    def _launch(self, how: list[str]) -> None:
        if not self.running:  # cancelled before it started
            return
        events = self.run_dir / EVENTS_FILE
        self._follower.offset = events.stat().st_size if events.is_file() else 0  # a resume appends
        argv = [*cli_command(), self.command, *how, "-o", str(self.run_dir), "--events", str(events)]
        with open(self.run_dir / LOG_FILE, "ab") as log:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl+C in a terminal, or the window closing, does not reach it
            )
        self.pid = self.process.pid
        if sys.platform.startswith("linux"):  # threads it starts later inherit the priority
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, self.pid, NICE)

    def follow(self, history: list[dict]) -> bool:
        """Follow the run's training process, started earlier (by a window closed with "Leave running");
        `history` (already drawn) is not drawn again. False when no process of the run is going."""
        _LEFT[:] = [p for p in _LEFT if p.poll() is None]
        started = latest_invocation(self.run_dir / EVENTS_FILE)
        if started is None or started.end is not None or not process_alive(started.pid):
            return False
        self.pid = started.pid
        self._follower.offset = started.offset
        self.history = list(history)
        self._drawn_step = max((int(e.get("step", 0)) for e in history), default=-1)
        logs = [e for e in history if e.get("type") == "log"]
        self.last_log = logs[-1] if logs else {}
        self._begin()
        return True

    def _begin(self) -> None:
        self._following = True
        _ACTIVE.add(self)
        self._timer.start()

    # ---- stopping ------------------------------------------------------------------------------------
    def cancel(self) -> None:
        """First press: stop at the next step and keep a checkpoint (SIGINT, as Ctrl+C in the CLI). Second:
        end at once (a second SIGINT; killed if it has not ended KILL_AFTER_MS later)."""
        if not self.running:
            return
        self.stops += 1
        if self.pid <= 0:  # not started yet: it never will
            self._finish({"state": "cancelled", "message": "cancelled before the training process started"})
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)
        if self.stops == 2:
            QTimer.singleShot(KILL_AFTER_MS, self.kill)

    def kill(self) -> None:
        """End the training process (and what it started) now: SIGTERM to its group first, so that a
        `--processes` launcher ends its ranks (they run in a session of their own), then SIGKILL to what
        is left TERM_GRACE_MS later."""
        if not self.running or self.pid <= 0:
            return
        self._signal_all(signal.SIGTERM)
        QTimer.singleShot(TERM_GRACE_MS, lambda: self._signal_all(signal.SIGKILL) if self.running else None)

    def _signal_all(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(self.pid) == self.pid:  # its own session: everything it started gets it too
                os.killpg(self.pid, sig)
            else:
                os.kill(self.pid, sig)

    def detach(self) -> None:
        """Stop following and leave the process training (it keeps its run folder; the runs list shows it)."""
        self._timer.stop()
        self._following = False
        _ACTIVE.discard(self)
        if self.process is not None and self.process.poll() is None:
            _LEFT.append(self.process)

    def wait(self, timeout_ms: int = 120_000) -> bool:
        """Follow until the process has ended (used when the app closes); False if it is still going."""
        from PySide6.QtCore import QDeadlineTimer, QThread

        deadline = QDeadlineTimer(timeout_ms)
        while self.running and not deadline.hasExpired():
            self.poll()
            QThread.msleep(50)
        return not self.running

    # ---- following -----------------------------------------------------------------------------------
    def poll(self) -> None:
        """Read the new events; end the session on the "end" event, or when the process is gone without one."""
        if not self.running or self.pid <= 0:  # not started yet
            return
        for event in self._follower.read():
            self._on_event(event)
        self.flush()
        if self._end is None and not self._alive():
            for event in self._follower.read():  # what it wrote just before it ended
                self._on_event(event)
            self.flush()
            if self._end is None:
                self._end = self._died()
        if self._end is not None:
            self._finish(self._end)

    def _alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return process_alive(self.pid)

    def _died(self) -> dict:
        """The end of a process that ended without saying how: stopped by a second Cancel, or failed."""
        if self.stops:  # stopped before it could say so (e.g. while it was still starting)
            return {"state": "cancelled", "message": "stopped at once; the last saved checkpoint is kept"}
        if self.process is None:  # a followed run: its folder says where it stopped
            return {"state": "failed", "message": RunRecord(self.run_dir).effective_status()[1]}
        code = self.process.returncode
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        said = last_line(self.run_dir / LOG_FILE)
        return {
            "state": "failed",
            "message": f"the training process ended without finishing ({how})"
            + (f": {said}" if said else ""),
        }

    def _on_event(self, event: dict) -> None:
        kind = event.get("type")
        if kind in ("log", "eval"):
            if int(event.get("step", 0)) <= self._drawn_step:
                return
            self._pending.append(event)
            if kind == "log":
                self.last_log = event
            else:
                self.last_eval = event
        elif kind == "progress":
            self.progress.emit(float(event.get("fraction", -1)), str(event.get("message", "")))
        elif kind == "end":
            self._end = event
        elif kind == "oom":
            self.oom_retries += 1
            self.log_line.emit(
                f"Out of memory: {event.get('message', '')} (now batch size {event.get('batch_size')}, "
                f"gradient accumulation {event.get('grad_accum')})"
            )
        elif kind != "start" and event.get("message"):
            self.log_line.emit(str(event["message"]))

    def flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.history.extend(batch)
            self.events.emit(batch)

    def _finish(self, end: dict) -> None:
        self.detach()
        state = end.get("state")
        if state == "finished":
            try:
                result = self.load_result(self.run_dir)
            except UserError as exc:
                self.failed.emit(str(exc), "")
            else:
                self.succeeded.emit(result)
        elif state == "cancelled":
            self.cancelled.emit()
        else:
            log = self.run_dir / LOG_FILE
            self.failed.emit(
                str(end.get("message") or "training failed"), f"The training process's output: {log}"
            )
        self.finished.emit()
