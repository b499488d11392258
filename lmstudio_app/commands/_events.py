"""`--events FILE` of the training commands: the run's events as JSON lines for a program that follows it.

The GUI starts every training run as `lmstudio-app finetune|pretrain ... --events FILE` and follows the file
(core/training/events.py): the engine's events and the progress as they come, then one "end" line whatever
happens, the exit status of a cancel or an error included.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lmstudio_app.commands._common import throttled_progress
from lmstudio_app.commands._training import CANCELLED
from lmstudio_app.core.tasks import TaskState


def add_events_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--events",
        metavar="FILE",
        help="append the run's events to FILE as JSON lines, one flushed line each: progress, logs, "
        "evaluations, and a last line saying how the run ended (for a program that follows the run)",
    )


def reports_events(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a training command's `run`: with --events FILE, a "start" line first and an "end" line however
    the command ends (finished, cancelled, or failed with the error's one line)."""

    @functools.wraps(run)
    def with_events(args: argparse.Namespace) -> int:
        from lmstudio_app.core.errors import UserError
        from lmstudio_app.core.training.events import EventWriter

        if not getattr(args, "events", None):
            return run(args)
        out = Path(args.output).resolve()
        with EventWriter(args.events) as events:
            args.event_log = events
            events.start()
            try:
                code = int(run(args) or 0)
            except UserError as exc:
                events.end("failed", str(exc), out)
                raise
            except KeyboardInterrupt:
                events.end("cancelled", "stopped at once; the last saved checkpoint is kept", out)
                raise
            except Exception as exc:
                events.end("failed", f"{type(exc).__name__}: {exc}".splitlines()[0], out)
                raise
            events.end(*ending(code, out), out)
            return code

    return with_events


def ending(code: int, out: Path) -> tuple[str, str]:
    """(end state, message) of a command that returned `code`: the run's own status message says more."""
    from lmstudio_app.core.training.record import RunRecord

    said = str(RunRecord(out).status().get("message", "") or "")
    if code == 0:
        return "finished", "finished"
    if code == CANCELLED:
        return "cancelled", said or "cancelled"
    return "failed", said or f"the training command ended with exit status {code}"


def training_progress(args: argparse.Namespace) -> TaskState:
    """Progress on stderr, and with --events as progress lines too."""
    shown = throttled_progress()
    events = getattr(args, "event_log", None)
    if events is None:
        return shown

    def both(fraction: float, message: str) -> None:
        shown.progress(fraction, message)
        events.progress(fraction, message)

    return TaskState(both)


def reported(args: argparse.Namespace, on_event: Callable[[dict], None]) -> Callable[[dict], Any]:
    """`on_event`, and with --events each event written first."""
    events = getattr(args, "event_log", None)
    return on_event if events is None else events.tee(on_event)
