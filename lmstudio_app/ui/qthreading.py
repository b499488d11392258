"""One way to run long core calls off the GUI thread: progress, result, error and cancel as Qt signals.

A core function takes `state: TaskState` (progress + stop flag) as a keyword argument. `Worker` runs it
on a thread pool and relays everything to the GUI thread; exceptions are never lost: a `UserError`
arrives as its plain message, anything else with its traceback. `LatestOnly` keeps one task per
purpose alive and cancels the older one when a newer request arrives (type-to-predict).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.tasks import Cancelled, TaskState

_POOL: QThreadPool | None = None
_RUNNING: set[Worker] = set()  # keeps workers alive until they finish


def pool() -> QThreadPool:
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        _POOL.setMaxThreadCount(4)
    return _POOL


class _Job(QRunnable):
    """A runnable that Python owns: the pool must not delete it, or PySide may later hand out its stale
    wrapper for another C++ object allocated at the same address (seen as app.style() -> QRunnable)."""

    def __init__(self, fn: Callable[[], None]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self._fn = fn

    def run(self) -> None:
        self._fn()


class Worker(QObject):
    """Runs `fn(*args, state=TaskState, **kwargs)` on a pool thread; create and connect on the GUI thread."""

    progress = Signal(float, str)
    result = Signal(object)
    error = Signal(str, str)  # one-line message for the user, traceback ("" for UserError)
    cancelled = Signal()
    finished = Signal()  # always last, whatever the outcome
    # The outcome goes through the GUI thread first: a request cancelled after its job ended but before the
    # window saw the result (a newer one submitted meanwhile) must not deliver a stale result.
    _outcome = Signal(str, object)

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self.state = TaskState(self.progress.emit)
        self.done = False
        self._outcome.connect(self._deliver)  # queued: the worker lives on the GUI thread
        # Released on the GUI thread after every queued signal has been delivered, never before.
        self.finished.connect(self._release)

    def start(self) -> Worker:
        _RUNNING.add(self)
        self._job = _Job(self._run)
        pool().start(self._job)
        return self

    def cancel(self) -> None:
        self.state.request_stop()

    @property
    def is_cancelled(self) -> bool:
        return self.state.should_stop()

    def _run(self) -> None:
        try:
            value = self._fn(*self._args, state=self.state, **self._kwargs)
        except Cancelled:
            self._outcome.emit("cancelled", None)
        except UserError as exc:
            self._outcome.emit("error", (str(exc), ""))
        except Exception as exc:  # everything else reaches the user with its traceback
            self._outcome.emit("error", (f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        else:
            self._outcome.emit("result", value)
        finally:
            self.done = True
            self.finished.emit()

    def _deliver(self, kind: str, value: Any) -> None:
        if kind == "cancelled" or self.state.should_stop():
            self.cancelled.emit()
        elif kind == "error":
            self.error.emit(*value)
        else:
            self.result.emit(value)

    def _release(self) -> None:
        # The pool thread may still be returning from the job's run(); let go a little later.
        QTimer.singleShot(1000, lambda: _RUNNING.discard(self))


class LatestOnly(QObject):
    """Starts workers for one purpose so that only the newest one's result is delivered."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.current: Worker | None = None

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Worker:
        """Cancel the older task (its result is dropped, even one that has ended but not yet reached the
        window) and return a new worker: connect it, then `start()`."""
        if self.current is not None:
            self.current.cancel()
        worker = Worker(fn, *args, **kwargs)
        self.current = worker
        return worker

    def cancel(self) -> None:
        if self.current is not None:
            self.current.cancel()


def wait_all(timeout_ms: int = 30000) -> bool:
    """Block until every worker has finished (used at exit and in tests)."""
    return pool().waitForDone(timeout_ms)
