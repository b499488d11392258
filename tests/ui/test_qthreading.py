"""The one worker abstraction: a newer request never shows an older one's result."""

from __future__ import annotations

import threading
import time

from lmstudio_app.ui.qthreading import LatestOnly


def _ended_but_not_delivered(worker) -> None:
    """Wait for the job's thread to end without letting the window's event loop run."""
    deadline = time.monotonic() + 10
    while not worker.done:
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_a_result_that_ended_before_a_newer_request_is_dropped(qtbot) -> None:
    """The pre-train wizard's model check showed the previous model's notes: its job had ended, its result
    was queued for the window, and the newer request did not cancel it because it was 'done'."""
    latest = LatestOnly()
    seen: list[str] = []
    cancelled: list[str] = []
    older = latest.submit(lambda *, state: "older")
    older.result.connect(seen.append)
    older.cancelled.connect(lambda: cancelled.append("older"))
    older.start()
    _ended_but_not_delivered(older)
    release = threading.Event()
    newer = latest.submit(lambda *, state: release.wait(10) and "newer")
    newer.result.connect(seen.append)
    newer.start()
    qtbot.waitUntil(lambda: cancelled == ["older"], timeout=5000)
    assert seen == []
    with qtbot.waitSignal(newer.finished, timeout=10_000):
        release.set()
    assert seen == ["newer"]


def test_errors_of_a_superseded_request_are_dropped_too(qtbot) -> None:
    latest = LatestOnly()
    errors: list[str] = []

    def fail(*, state):
        raise ValueError("old model is broken")

    older = latest.submit(fail)
    older.error.connect(lambda message, _trace: errors.append(message))
    older.start()
    _ended_but_not_delivered(older)
    newer = latest.submit(lambda *, state: "ok")
    with qtbot.waitSignal(newer.result, timeout=10_000):
        newer.start()
    qtbot.wait(50)
    assert errors == []
