"""The Qt binding the app runs on must not corrupt Python's reference counts (PySide6 6.12.0 did)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    happened = Signal(list)


def test_emitting_a_signal_keeps_true_and_false_alive():
    """6.12.0 decremented True's refcount on every `obj.signal` access; a long session then aborted
    ("bool_dealloc: deallocating True or False") in whatever thread next collected garbage."""
    emitter = _Emitter()
    received: list[list] = []
    emitter.happened.connect(received.append)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for i in range(200):
        emitter.happened.emit([i])
    after = sys.getrefcount(True), sys.getrefcount(False)
    assert len(received) == 200
    assert after[0] >= before[0] - 5 and after[1] >= before[1] - 5, (before, after)
