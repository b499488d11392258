"""A timer on the GUI thread that records how late each tick fires: the longest gap is the worst stall."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer


class StallProbe(QObject):
    """Ticks every `interval_ms`; `longest_stall_ms` is the worst extra delay seen since `start()`."""

    def __init__(self, interval_ms: int = 5) -> None:
        super().__init__()
        self.interval_ms = interval_ms
        self.timer = QTimer(self, interval=interval_ms, timeout=self._tick)
        self.longest_stall_ms = 0.0
        self._last = 0.0

    def start(self) -> None:
        self.longest_stall_ms = 0.0
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.longest_stall_ms

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest_stall_ms = max(self.longest_stall_ms, (now - self._last) * 1000 - self.interval_ms)
        self._last = now
