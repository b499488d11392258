"""What the training subcommands (finetune for labels, word tags and QA, pretrain) share: the engine's settings
from the command line, the evaluation lines on stderr, Ctrl+C ending a run that --resume continues, and
--processes N, which runs the same command again as N torchrun ranks (core/training/launch.py)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lmstudio_app import APP_NAME
from lmstudio_app.commands._common import first_ctrl_c_stops, whole_number
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
        "processes": args.processes,
        "command": recorded_command(args),
    }


def add_processes_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--processes",
        type=whole_number(1),
        default=1,
        help="train on N processes: one per GPU, or N on the CPU; --batch-size stays the whole batch, "
        "split among them (default 1)",
    )


def recorded_command(args: argparse.Namespace) -> dict:
    """The command line as given (cli.py keeps it) and where it ran: `export-launch` runs it again."""
    argv = getattr(args, "command_argv", None)
    return {"cwd": os.getcwd(), "argv": list(argv)} if argv else {}


def wants_ranks(args: argparse.Namespace) -> bool:
    """True in the process the user started with --processes N > 1; False in the ranks it starts, and
    under any other launcher (torchrun, accelerate): the launcher decides how many there are."""
    from lmstudio_app.core.training.ranks import world_size

    return args.processes > 1 and world_size() == 1


def launch_ranks(args: argparse.Namespace, out: Path, batch_size: int) -> int:
    """Run this same command as args.processes ranks (after this process checked the input), follow them,
    and return the exit status: rank 0's output shows here as the run goes."""
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.training.launch import plan_ranks, run_ranks
    from lmstudio_app.core.training.record import RunRecord

    if args.resume:  # the run keeps the batch it started with
        batch_size = int(RunRecord(out).saved_settings().settings.get("batch_size", batch_size))
    plan = plan_ranks(args.processes, batch_size, args.device)
    argv = getattr(args, "command_argv", None)
    if not argv:
        raise UserError("--processes needs the command line: run it as `lmstudio-app ...`.")
    say(plan.describe())
    state = TaskState()
    with first_ctrl_c_stops(state):
        end = run_ranks(plan, argv, out, state)
    if end.message:
        say(f"{APP_NAME}: error: {end.message}" if end.status == "failed" else end.message)
    return end.exit_code


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
