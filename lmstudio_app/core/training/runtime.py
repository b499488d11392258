"""Keep a window responsive while a job trains in one of its threads."""

from __future__ import annotations

import contextlib
import os
import sys
import threading

from lmstudio_app.core.models.imports import import_quietly


def yield_to_the_gui_thread() -> None:
    """In a background thread, run this thread (and the torch threads it starts) at a lower priority.

    Training keeps every core busy; without this the window's thread waits for a time slice and the
    live plots stutter. At a lower priority training still gets all the CPU the window does not use.
    Linux only (thread ids are schedulable entities there); elsewhere, and in the CLI, nothing changes.
    """
    if threading.current_thread() is threading.main_thread() or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), 10))


def preload_modules() -> None:
    """Import what the first evaluation and checkpoint would import mid-training, before the first step.

    A first import holds the GIL for up to a few hundred ms; done here it delays the start (while the
    GUI says "preparing") instead of freezing the live plots in the middle of training.
    """
    import_quietly("sklearn.metrics", "torch.distributed.checkpoint.state_dict_saver", "transformers.trainer")


def is_main_process() -> bool:
    """Under `accelerate launch` only rank 0 writes the run files."""
    return os.environ.get("RANK", "0") == "0"
