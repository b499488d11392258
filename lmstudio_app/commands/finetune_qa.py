"""`lmstudio-app finetune --task qa --data FILE -o DIR`: train an extractive question-answering model.

Part of the `finetune` subcommand (its options are added there); kept apart so that each task's
command line reads on its own.
"""

from __future__ import annotations

import argparse
import sys

from lmstudio_app.commands._common import whole_number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stride",
        type=whole_number(0),
        help="--task qa: tokens shared by consecutive windows of a long context (default: a third of the "
        "max length, at most 128)",
    )
    parser.add_argument(
        "--max-answer-tokens",
        type=whole_number(1),
        default=30,
        help="--task qa: the longest answer, in tokens (default 30)",
    )


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _on_event(event: dict) -> None:
    kind = event.get("type")
    if kind == "eval":
        final = "final evaluation of the saved model" if event.get("final") else "eval"
        _say(
            f"{final} at step {event['step']}: loss {event['eval_loss']:.4f}, "
            f"exact match {event.get('eval_exact_match', float('nan')):.4f}, F1 {event.get('eval_f1', float('nan')):.4f}"
        )
    elif kind in ("oom", "status"):
        _say(event["message"])


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lmstudio_app.commands._common import first_ctrl_c_stops, throttled_progress
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.outputs import check_output_dir
    from lmstudio_app.core.qa.data import read_qa, split_by_context
    from lmstudio_app.core.qa.job import train_qa
    from lmstudio_app.core.qa.settings import QASettings
    from lmstudio_app.core.tasks import Cancelled
    from lmstudio_app.core.training.record import RunRecord

    if not args.data or args.csv or args.val_csv:
        raise UserError("--task qa reads --data FILE (and --val-data FILE), not --csv.")
    out = check_output_dir(args.output)  # before reading any data
    RunRecord(out).check_start(args.resume)
    state = throttled_progress()
    data = read_qa(args.data, state=state)
    for problem in data.problems:
        _say(f"{Path(args.data).name}: {problem}")
    if args.val_data:
        val_data = read_qa(args.val_data, state=state)
        for problem in val_data.problems:
            _say(f"{Path(args.val_data).name}: {problem}")
        train, val = data.examples, val_data.examples
    else:
        train, val = split_by_context(data, args.val_split, args.seed)
    max_length = args.max_length or 384
    settings = QASettings(
        base_model=args.model,
        max_length=max_length,
        stride=args.stride if args.stride is not None else min(128, max_length // 3),
        max_answer_tokens=args.max_answer_tokens,
        val_fraction=args.val_split,
        data=str(Path(args.data).resolve()),
        epochs=args.epochs,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        warmup_ratio=args.warmup_ratio,
        weight_decay=args.weight_decay,
        patience=args.patience,
        seed=args.seed,
        device=args.device,
        precision=args.precision,
        max_steps=args.max_steps,
        grad_accum=args.grad_accum,
        name=out.name,
    )
    unanswerable = sum(1 for e in train if e.answers == [])
    _say(
        f"{len(train)} training questions ({unanswerable} unanswerable), {len(val)} validation questions"
        + ("" if args.val_data else ", split by context")
    )
    try:
        with first_ctrl_c_stops(state):
            result = train_qa(
                train, val, settings, out, state=state, on_event=_on_event, resume=args.resume, model_dir=out
            )
    except Cancelled as exc:
        _say(f"{exc}; continue with the same command plus --resume")
        return 130
    m = result.metrics
    print(f"exact match {m['eval_exact_match']:.4f}, F1 {m['eval_f1']:.4f}; model saved to {out}")
    return 0
