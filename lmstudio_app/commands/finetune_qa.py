"""`lmstudio-app finetune --task qa --data FILE -o DIR`: train an extractive question-answering model.

Part of the `finetune` subcommand (its options are added there); kept apart so that each task's
command line reads on its own.
"""

from __future__ import annotations

import argparse

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


def _scores(event: dict) -> str:
    return (
        f"exact match {event.get('eval_exact_match', float('nan')):.4f}, "
        f"F1 {event.get('eval_f1', float('nan')):.4f}"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lmstudio_app.commands._events import reported, training_progress
    from lmstudio_app.commands._training import (
        CANCELLED,
        engine_settings,
        eval_printer,
        launch_ranks,
        say,
        train_until_done,
        wants_ranks,
    )
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.outputs import check_output_dir
    from lmstudio_app.core.qa.data import read_qa, split_by_context
    from lmstudio_app.core.qa.job import train_qa
    from lmstudio_app.core.qa.settings import QASettings
    from lmstudio_app.core.training.record import RunRecord

    if not args.data or args.csv or args.val_csv:
        raise UserError("--task qa reads --data FILE (and --val-data FILE), not --csv.")
    out = check_output_dir(args.output)  # before reading any data
    RunRecord(out).check_start(args.resume)
    state = training_progress(args)
    data = read_qa(args.data, state=state)
    for problem in data.problems:
        say(f"{Path(args.data).name}: {problem}")
    if args.val_data:
        val_data = read_qa(args.val_data, state=state)
        for problem in val_data.problems:
            say(f"{Path(args.val_data).name}: {problem}")
        train, val = data.examples, val_data.examples
    else:
        train, val = split_by_context(data, args.val_split, args.seed)
    max_length = args.max_length or 384
    settings = QASettings(
        **engine_settings(args, out),
        max_length=max_length,
        stride=args.stride if args.stride is not None else min(128, max_length // 3),
        max_answer_tokens=args.max_answer_tokens,
        data=str(Path(args.data).resolve()),
        val_data=str(Path(args.val_data).resolve()) if args.val_data else "",
    )
    unanswerable = sum(1 for e in train if e.answers == [])
    say(
        f"{len(train)} training questions ({unanswerable} unanswerable), {len(val)} validation questions"
        + ("" if args.val_data else ", split by context")
    )
    if wants_ranks(args):
        return launch_ranks(args, out, settings.batch_size)
    result = train_until_done(
        state,
        lambda: train_qa(
            train,
            val,
            settings,
            out,
            state=state,
            on_event=reported(args, eval_printer(_scores)),
            resume=args.resume,
            model_dir=out,
        ),
    )
    if result is None:
        return CANCELLED
    m = result.metrics
    print(f"exact match {m['eval_exact_match']:.4f}, F1 {m['eval_f1']:.4f}; model saved to {out}")
    return 0
