"""Pieces several subcommands share: model options, stderr progress, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from lmstudio_app.core.tasks import TaskState


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
