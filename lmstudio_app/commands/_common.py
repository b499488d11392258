"""Pieces several subcommands share: model options, stderr progress, JSON output."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from lmstudio_app.core.tasks import TaskState

MAX_SEED = 2**32 - 1  # numpy's generators take seeds below 2**32


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in [minimum, maximum]; anything else is refused in one line
    before a model or a table is read."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f"of at least {minimum}"
            raise argparse.ArgumentTypeError(f"{value} is out of range: use a whole number {bounds}")
        return value

    return parse


def real_number(
    low: float, high: float | None = None, *, low_open: bool = False, high_open: bool = False
) -> Callable[[str], float]:
    """An argparse type: a finite number in the interval from `low` to `high` (each end included unless
    marked open); anything else (nan, inf, out of range) is refused in one line."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        below = value <= low if low_open else value < low
        above = high is not None and (value >= high if high_open else value > high)
        if not math.isfinite(value) or below or above:
            left = f"more than {low:g}" if low_open else f"at least {low:g}"
            right = "" if high is None else f" and {'less than' if high_open else 'at most'} {high:g}"
            raise argparse.ArgumentTypeError(f"{text.strip()} is out of range: use a number {left}{right}")
        return value

    return parse


def add_model_arguments(parser: argparse.ArgumentParser, default: str | None, what: str = "model") -> None:
    """-m/--model (folder, hub id or embedded name), --device, --dtype, --trust-remote-code."""
    hint = f" (default: the embedded {default})" if default else ""
    parser.add_argument(
        "-m", "--model", default=default, help=f"{what}: local folder, hub id or embedded name{hint}"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default: cpu)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument(
        "--trust-remote-code", action="store_true", help="allow models that ship their own Python code"
    )


def stderr_progress() -> TaskState:
    """A TaskState that prints each new progress message to stderr, one line each."""
    last = {"message": None}

    def show(fraction: float, message: str) -> None:
        if message != last["message"]:
            last["message"] = message
            pct = f"{fraction * 100:3.0f}%" if fraction >= 0 else "  ..."
            print(f"[{pct}] {message}", file=sys.stderr, flush=True)

    return TaskState(show)


def throttled_progress() -> TaskState:
    """Progress on stderr: every new kind of message, training steps at most every 2 seconds."""
    last = {"kind": None, "t": 0.0}

    def show(fraction: float, message: str) -> None:
        kind = message.split(" ", 1)[0]
        now = time.monotonic()
        if kind != last["kind"] or now - last["t"] >= 2.0 or fraction >= 1.0:
            last.update(kind=kind, t=now)
            pct = f"{fraction * 100:3.0f}%" if fraction >= 0 else "  ..."
            print(f"[{pct}] {message}", file=sys.stderr, flush=True)

    return TaskState(show)


def load_model_from_args(args: argparse.Namespace) -> Any:
    """Resolve and load args.model on args.device/args.dtype, with progress on stderr."""
    from lmstudio_app.core.models.registry import ModelRegistry

    return ModelRegistry().load(
        args.model,
        args.device,
        args.dtype,
        trust_remote_code=args.trust_remote_code,
        state=stderr_progress(),
    )


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


@contextlib.contextmanager
def first_ctrl_c_stops(state: TaskState) -> Iterator[None]:
    """The first Ctrl+C asks a training job to stop after its step and keep a checkpoint; a second one
    aborts at once. Only the main thread can own signal handlers (tests call commands from others)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def first_interrupt(signum: int, frame: Any) -> None:
        print(
            "stopping after this step and saving a checkpoint (Ctrl+C again to abort at once)",
            file=sys.stderr,
        )
        state.request_stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, first_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
