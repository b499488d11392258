"""RunRecord: the only reader and writer of a run folder's files, and the folder's owner while it trains.

A run folder holds settings.json (job kind, settings, how to rebuild the data), status.json,
history.jsonl (log/eval events), checkpoint-*/ (Trainer checkpoints, for resume), the final model,
results.json and metrics.json. Every write is atomic (core/jsonio). While a job trains, the folder's
lock file is held with flock: the kernel releases it when the process ends, even after kill -9, so a
second run on the same folder is refused and a dead run is told apart from a live one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.jsonio import cannot_write, read_json, write_json, write_text
from lmstudio_app.core.outputs import PROBE_PREFIX
from lmstudio_app.core.training.runtime import is_main_process

STATUSES = ("running", "cancelled", "finished", "failed", "interrupted")
SETTINGS_FILE = "settings.json"
STATUS_FILE = "status.json"
HISTORY_FILE = "history.jsonl"
RESULTS_FILE = "results.json"
METRICS_FILE = "metrics.json"
LOCK_FILE = ".lock"
# What a launcher puts in a new run folder before the training process starts (core/training/events.py):
# the settings it starts from, the events it follows, the process's output. The folder is still new.
LAUNCH_FILE = "launch.json"
EVENTS_FILE = "events.jsonl"
LOG_FILE = "train.log"
LAUNCH_FILES = (LAUNCH_FILE, EVENTS_FILE, LOG_FILE)
DEFAULT_KIND = "finetune"  # runs saved before job kinds existed


class RunBusyError(UserError):
    """The run folder is owned by a run that is still going."""


@dataclass
class SavedSettings:
    """settings.json: the job's kind and name, its settings, and the job's own description."""

    kind: str = DEFAULT_KIND
    name: str = ""
    settings: dict = field(default_factory=dict)
    job: dict = field(default_factory=dict)  # e.g. labels, data plan, model folder, row counts


@dataclass
class RunRecord:
    """One run folder; construct it with the folder's path, nothing is read until asked."""

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self._lock_fd: int | None = None

    # ---- settings -------------------------------------------------------------------------------
    def saved_settings(self) -> SavedSettings:
        d = read_json(self.path / SETTINGS_FILE)
        job = {k: v for k, v in d.items() if k not in ("kind", "name", "settings")}
        return SavedSettings(d.get("kind") or DEFAULT_KIND, d.get("name") or "", d.get("settings") or {}, job)

    def write_settings(self, saved: SavedSettings) -> None:
        write_json(
            self.path / SETTINGS_FILE,
            {"kind": saved.kind, "name": saved.name, "settings": saved.settings, **saved.job},
        )

    # ---- status ---------------------------------------------------------------------------------
    def status(self) -> dict:
        """status.json as written; `effective_status()` tells a dead 'running' run apart."""
        return read_json(self.path / STATUS_FILE)

    def write_status(self, status: str, **fields: Any) -> dict:
        """Update status.json (keeps earlier fields such as `created`); records this process's id."""
        if status not in STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        current = self.status()
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        current.setdefault("created", now)
        current.update(fields, status=status, updated=now, pid=os.getpid())
        write_json(self.path / STATUS_FILE, current)
        return current

    def effective_status(self) -> tuple[str, str]:
        """(status, message); a run that says 'running' but whose process is gone is 'interrupted'."""
        status = self.status()
        state, message = status.get("status", "failed"), status.get("message", "")
        if state == "running" and not self.is_locked():
            step = int(status.get("step", 0) or 0)
            state = "interrupted"
            message = f"the training process stopped unexpectedly at step {step}" + (
                "; resume continues from the last checkpoint" if self.checkpoints() else ""
            )
        return (state if state in STATUSES else "failed"), message

    # ---- history, metrics, results -------------------------------------------------------------
    def history(self) -> list[dict]:
        """The run's log/eval events in order; lines that are not JSON objects are skipped."""
        try:
            lines = (self.path / HISTORY_FILE).read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        events = []
        for line in lines:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    events.append(event)
        return events

    def write_history(self, events: list[dict]) -> None:
        write_text(self.path / HISTORY_FILE, "".join(json.dumps(e) + "\n" for e in events))

    def append_event(self, event: dict) -> None:
        """One line appended (an append of a whole line is safe against a crash; a torn last line is skipped)."""
        try:
            with open(self.path / HISTORY_FILE, "a", encoding="utf-8") as f:
                f.write(json.dumps(event) + "\n")
        except OSError as exc:
            raise cannot_write(self.path / HISTORY_FILE, exc) from exc

    def metrics(self) -> dict:
        return read_json(self.path / METRICS_FILE)

    def write_metrics(self, metrics: dict) -> None:
        write_json(self.path / METRICS_FILE, metrics)

    def results(self) -> dict:
        return read_json(self.path / RESULTS_FILE)

    def write_results(self, results: dict) -> None:
        write_json(self.path / RESULTS_FILE, results)

    # ---- checkpoints ----------------------------------------------------------------------------
    def checkpoints(self) -> list[Path]:
        """Complete Trainer checkpoints in the run, oldest step first."""
        found = []
        for p in self.path.glob("checkpoint-*"):
            m = re.fullmatch(r"checkpoint-(\d+)", p.name)
            if m and p.is_dir() and (p / "trainer_state.json").is_file():
                found.append((int(m.group(1)), p))
        return [p for _, p in sorted(found)]

    def model_dir(self) -> Path:
        return Path(self.saved_settings().job.get("model_dir") or self.path / "model")

    def has_model(self) -> bool:
        return (self.model_dir() / "config.json").is_file()

    # ---- starting, owning ----------------------------------------------------------------------
    def check_start(self, resume: bool) -> None:
        """Refuse a start or resume that would lose or mix work; the messages point the same way.

        Of several training processes only rank 0 checks (and then owns the folder): the others would see
        it busy, owned by their own rank 0."""
        if not is_main_process():
            return
        if not self.path.exists():
            if resume:
                raise UserError(f"{self.path} does not exist: run without --resume to start a new run there.")
            return
        if not self.path.is_dir():
            raise UserError(f"{self.path} is a file, not a folder: choose a folder for the run.")
        if self.is_locked():
            raise RunBusyError(self._busy_message())
        found = self.checkpoints()
        is_run = (self.path / STATUS_FILE).is_file()
        if resume:
            if found:
                return
            hint = "it stopped before saving one" if is_run else "it is not a run folder"
            raise UserError(
                f"{self.path} has no checkpoint to resume from ({hint}): run the same command without "
                "--resume to start it again."
            )
        if not any(
            p
            for p in self.path.iterdir()
            if not p.name.startswith(PROBE_PREFIX) and p.name not in LAUNCH_FILES
        ):
            return  # empty, but for another process's probe (core/outputs.py) and a launcher's files
        if not is_run:
            raise UserError(
                f"{self.path} is not empty and is not a run folder: choose a new or empty folder."
            )
        state, _ = self.effective_status()
        if state == "finished" or self.has_model():
            raise UserError(
                f"{self.path} holds a finished run: choose a new folder (nothing was overwritten)."
            )
        if found:
            step = found[-1].name.rpartition("-")[2]
            raise UserError(
                f"{self.path} holds an unfinished run with a checkpoint at step {step}: add --resume to "
                "continue it, or choose a new folder."
            )

    def is_locked(self) -> bool:
        """True while some process (this one included) owns the folder."""
        if self._lock_fd is not None:
            return True
        lock = self.path / LOCK_FILE
        if not lock.is_file():
            return False
        try:
            fd = os.open(lock, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            os.close(fd)
        return False

    def _busy_message(self) -> str:
        try:
            owner = (self.path / LOCK_FILE).read_text(encoding="utf-8").strip()
        except OSError:
            owner = ""
        who = f" ({owner})" if owner else ""
        return f"{self.path} is in use by a run that is still training{who}: wait for it or cancel it, or choose another folder."

    @contextlib.contextmanager
    def owned(self) -> Iterator[None]:
        """Hold the folder's lock for the duration of a run; a second owner gets RunBusyError."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise cannot_write(self.path, exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunBusyError(self._busy_message()) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"process {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}".encode())
            self._lock_fd = fd
            yield
        finally:
            self._lock_fd = None
            os.close(fd)  # closing the last descriptor releases the flock
