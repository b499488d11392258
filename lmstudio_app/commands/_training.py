"""What the training subcommands (finetune for labels, word tags and QA) share: the engine's settings from
the command line, the evaluation lines on stderr, and Ctrl+C ending a run that --resume continues."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lmstudio_app.commands._common import first_ctrl_c_stops
from lmstudio_app.core.tasks import TaskState

CANCELLED = 130  # the status of a run stopped by Ctrl+C, as a shell reports SIGINT


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def engine_settings(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """The TrainSettings fields every finetune task takes from the same options."""
    return {
        "base_model": args.model,
        "val_fraction": args.val_split,
        "epochs": args.epochs,
        "learning_rate": args.lr,
        "batch_size": args.batch_size,
        "warmup_ratio": args.warmup_ratio,
        "weight_decay": args.weight_decay,
        "patience": args.patience,
        "seed": args.seed,
        "device": args.device,
        "precision": args.precision,
        "max_steps": args.max_steps,
        "grad_accum": args.grad_accum,
        "name": out.name,
    }


def eval_printer(scores: Callable[[dict], str]) -> Callable[[dict], None]:
    """An on_event that prints each evaluation (`scores` words the task's figures) and the engine's
    status and out-of-memory messages."""

    def on_event(event: dict) -> None:
        kind = event.get("type")
        if kind == "eval":
            final = "final evaluation of the saved model" if event.get("final") else "eval"
            say(f"{final} at step {event['step']}: loss {event['eval_loss']:.4f}, {scores(event)}")
        elif kind in ("oom", "status"):
            say(event["message"])

    return on_event


def train_until_done(state: TaskState, train: Callable[[], Any]) -> Any | None:
    """Run `train`; the first Ctrl+C stops it at the next step (None is returned after saying how to go on)."""
    from lmstudio_app.core.tasks import Cancelled

    try:
        with first_ctrl_c_stops(state):
            return train()
    except Cancelled as exc:
        say(f"{exc}; continue with the same command plus --resume")
        return None
