"""`lmstudio-app finetune --task tokens --data FILE -o DIR`: train a word tagger (NER, POS, any tags).

Part of the `finetune` subcommand (its options are added there); kept apart so that each task's
command line reads on its own.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tag-names",
        help="--task tokens: the names of integer tags in a JSONL file, in order (e.g. O,B-PER,I-PER)",
    )
    parser.add_argument(
        "--all-pieces",
        action="store_true",
        help="--task tokens: label every sub-word piece of a word, not only the first",
    )


def _scores(event: dict) -> str:
    entity = f", entity F1 {event['eval_f1']:.4f}" if "eval_f1" in event else ""
    return f"token accuracy {event['eval_token_accuracy']:.4f}{entity}"


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
    from lmstudio_app.core.tokens.files import TokenDataPlan, read_tagged
    from lmstudio_app.core.tokens.job import tag_list, train_tagger
    from lmstudio_app.core.tokens.settings import TokenSettings
    from lmstudio_app.core.training.record import RunRecord

    if not args.data or args.csv or args.val_csv:
        raise UserError("--task tokens reads --data FILE (and --val-data FILE), not --csv.")
    out = check_output_dir(args.output)  # before reading any data
    RunRecord(out).check_start(args.resume)
    names = [n.strip() for n in args.tag_names.split(",")] if args.tag_names else None
    plan = TokenDataPlan(args.data, args.val_data, args.val_split, args.seed, names)
    data = read_tagged(plan.path, names)
    for problem in data.problems:
        say(f"{Path(plan.path).name}: {problem}")
    train, val = plan.build(data)
    settings = TokenSettings(
        **engine_settings(args, out), max_length=args.max_length or 128, all_pieces=args.all_pieces
    )
    tags = tag_list(train, val)
    say(
        f"{len(train)} training sentences, {len(val)} validation sentences, {len(tags)} tags: {', '.join(tags[:20])}"
    )
    if wants_ranks(args):
        return launch_ranks(args, out, settings.batch_size)
    state = training_progress(args)
    result = train_until_done(
        state,
        lambda: train_tagger(
            train,
            val,
            settings,
            out,
            state=state,
            on_event=reported(args, eval_printer(_scores)),
            resume=args.resume,
            model_dir=out,
            plan=plan,
        ),
    )
    if result is None:
        return CANCELLED
    m = result.metrics
    entity = f", entity F1 {m['eval_f1']:.4f}" if "eval_f1" in m else ""
    print(f"token accuracy {m['eval_token_accuracy']:.4f}{entity}; model saved to {out}")
    return 0
