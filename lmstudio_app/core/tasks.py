"""Progress and cancellation for long core calls, without any GUI (Orange3's TaskState idea).

The CLI passes a state that prints progress; the GUI's Worker passes one that emits Qt signals and
whose stop flag is set by a Cancel button. Core code only calls `progress()` and `raise_if_stopped()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

ProgressFn = Callable[[float, str], None]


class Cancelled(Exception):
    """Raised inside a core call when the user asked it to stop."""


class TaskState:
    """Progress sink plus a thread-safe stop flag shared by a caller and a running core call."""

    def __init__(self, on_progress: ProgressFn | None = None) -> None:
        self._on_progress = on_progress
        self._stop = threading.Event()
        self._high = 0.0  # the furthest fraction a stage has reported

    def stage(self, start: float, end: float) -> TaskState:
        """This state as seen by one stage of a longer task: the stage's 0..1 maps to start..end of the
        whole, and the whole never goes backwards (a retry or a new stage starting over stays put).
        The stop flag is shared."""
        child = TaskState(lambda f, m: self._staged(start + (end - start) * f if f >= 0 else f, m))
        child._stop = self._stop
        return child

    def prefixed(self, prefix: str) -> TaskState:
        """This state with every message starting with `prefix` (which item of a loop is under way); the
        stop flag is shared."""
        child = TaskState(lambda f, m: self.progress(f, prefix + m))
        child._stop = self._stop
        return child

    def _staged(self, fraction: float, message: str) -> None:
        if fraction >= 0:
            fraction = self._high = max(fraction, self._high)
        self.progress(fraction, message)

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress in [0, 1] (or a negative fraction for 'busy, unknown length')."""
        if self._on_progress is not None:
            self._on_progress(fraction, message)

    def request_stop(self) -> None:
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def raise_if_stopped(self) -> None:
        if self._stop.is_set():
            raise Cancelled("cancelled by the user")


def ensure_state(state: TaskState | None) -> TaskState:
    """Core functions accept `state=None` for simple calls; this gives them a silent one."""
    return state if state is not None else TaskState()
