"""How much memory a variant adds at its peak while it is loaded and run, measured inside this process.

On Linux the kernel keeps the process's peak resident size (VmHWM) and lets a process reset it (writing 5
to /proc/self/clear_refs), so the peak of each variant is exact, spikes inside a native call included.
Elsewhere a thread samples the resident size every few milliseconds (a short spike may be missed).
Memory that earlier work freed is given back to the system first (glibc's malloc_trim): glibc keeps freed
blocks for reuse, and a variant measured after another would otherwise fill them without its resident size
growing, and look smaller than it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import re
import threading
from pathlib import Path

import psutil

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


class PeakMemory:
    """`with PeakMemory() as peak: ...` then `peak.added_mb`: the peak resident size above the level at
    the start, in megabytes (10^6 bytes)."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.added_mb = 0.0
        self._process = psutil.Process()
        self._start = 0
        self._sampled = 0
        self._kernel = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        _release_freed_memory()
        self._start = self._process.memory_info().rss
        self._kernel = _reset_kernel_peak()
        if not self._kernel:
            self._sampled = self._start
            self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        peak = _kernel_peak() if self._kernel else None
        if peak is None:
            peak = max(self._sampled, self._process.memory_info().rss)
        self.added_mb = max(0.0, (peak - self._start) / 1e6)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sampled = max(self._sampled, self._process.memory_info().rss)


def _release_freed_memory() -> None:
    if threading.current_thread() is threading.main_thread():
        # Not on a worker: a collection there can free a GUI's objects off their thread (a crash in Qt).
        gc.collect()
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    if trim is not None:  # glibc only (musl and macOS have none, nor the same reuse problem to this degree)
        trim(0)


def _reset_kernel_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _kernel_peak() is not None


def _kernel_peak() -> int | None:
    """VmHWM in bytes, or None where the kernel does not report it."""
    try:
        match = re.search(r"VmHWM:\s+(\d+)\s+kB", _STATUS.read_text())
    except OSError:
        return None
    return int(match[1]) * 1024 if match else None
