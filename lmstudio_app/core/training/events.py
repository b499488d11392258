"""A training run's events as JSON lines: written by the process that trains, followed by another one.

The GUI runs training as a child process of the CLI (`--events FILE`) and follows it through this file, so
a crash or an out-of-memory in training never takes the window with it. One line per event, flushed as it is
written: the engine's events (log, eval, oom, status, a job's own such as probes, the same dicts on_event
receives), progress lines, a first "start" (the process to signal) and a last "end" (finished, cancelled or
failed, a message, the run folder). A follower reading the growing file may meet a torn last line; it keeps
it until its end arrives.

Of several training processes (torchrun ranks) only rank 0 writes events and progress; "start" and "end"
belong to the process the user started (our launcher, when it runs the ranks).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lmstudio_app.core.jsonio import cannot_write
from lmstudio_app.core.outputs import check_output_file
from lmstudio_app.core.training.bridge import EventFn
from lmstudio_app.core.training.ranks import STOP_FILE_ENV, world_size
from lmstudio_app.core.training.runtime import is_main_process

END_STATES = ("finished", "cancelled", "failed")
PROGRESS_EVERY_S = 1.0  # a training step's progress line at most this often (a new message at once)


class EventWriter:
    """Appends events to a file, one JSON line each (rank 0 only); use as a context manager or `close()`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        launched_rank = world_size() > 1 and bool(os.environ.get(STOP_FILE_ENV))
        self.speaks = is_main_process()
        self.bounds = self.speaks and not launched_rank  # "start" and "end" are the launcher's
        self._file = None
        self._lock = threading.Lock()
        self._last_progress = ("", 0.0)
        self.ended = False
        if self.speaks:
            check_output_file(self.path)
            try:
                self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())
            except OSError as exc:
                raise cannot_write(self.path, exc) from exc

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def write(self, event: dict) -> None:
        """One line, flushed at once (a follower sees it now, and a crash loses at most the line in hand)."""
        if self._file is None:
            return
        line = json.dumps(event, default=str) + "\n"
        with self._lock:
            try:
                self._file.write(line)
                self._file.flush()
            except OSError as exc:
                raise cannot_write(self.path, exc) from exc

    def tee(self, on_event: EventFn | None) -> EventFn:
        """An on_event that writes each event, then hands it to `on_event` (e.g. the CLI's printer)."""

        def both(event: dict) -> None:
            self.write(event)
            if on_event is not None:
                on_event(event)

        return both

    def progress(self, fraction: float, message: str) -> None:
        """A progress line: each new kind of message (its first word) at once, training steps at most once
        every PROGRESS_EVERY_S, and the end of a stage always."""
        kind = message.split(" ", 1)[0]
        now = time.monotonic()
        last_kind, last_time = self._last_progress
        if kind == last_kind and now - last_time < PROGRESS_EVERY_S and 0 <= fraction < 1:
            return
        self._last_progress = (kind, now)
        self.write({"type": "progress", "fraction": fraction, "message": message})

    def start(self) -> None:
        """The first line of one invocation: which process to signal to stop it."""
        if self.bounds:
            self.write({"type": "start", "pid": os.getpid(), "time": time.strftime("%Y-%m-%d %H:%M:%S")})

    def end(self, state: str, message: str, result: Path | str = "") -> None:
        """The last line: how the run ended and where its folder is (written once)."""
        if state not in END_STATES:
            raise ValueError(f"unknown end state {state!r}")
        if self.bounds and not self.ended:
            self.ended = True
            self.write({"type": "end", "state": state, "message": message, "result": str(result)})


class EventFollower:
    """Reads the whole lines appended to an events file since the last read (from `offset` on)."""

    def __init__(self, path: Path | str, offset: int = 0) -> None:
        self.path = Path(path)
        self.offset = offset

    def read(self) -> list[dict]:
        """The new events; a line still being written stays for the next read, a line that is not a JSON
        object is skipped, a file not there yet gives none."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:  # not there yet
            return []
        whole = data.rfind(b"\n") + 1
        self.offset += whole
        events = []
        for line in data[:whole].splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict):
                    events.append(event)
        return events


@dataclass
class Invocation:
    """The latest invocation that wrote to an events file: its "start" and its "end" (None while it runs)."""

    start: dict
    end: dict | None
    offset: int  # where the file ended when it was read: a follower goes on from there

    @property
    def pid(self) -> int:
        return int(self.start.get("pid", 0) or 0)


def latest_invocation(path: Path | str) -> Invocation | None:
    """The last "start" in the file and the "end" after it, if any (None: no invocation wrote there)."""
    follower = EventFollower(path)
    found: Invocation | None = None
    for event in follower.read():
        if event.get("type") == "start":
            found = Invocation(event, None, 0)
        elif event.get("type") == "end" and found is not None:
            found.end = event
    if found is not None:
        found.offset = follower.offset
    return found


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (the training process a follower did not start itself)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
