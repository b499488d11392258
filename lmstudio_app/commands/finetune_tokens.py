"""`lmstudio-app finetune --task tokens --data FILE -o DIR`: train a word tagger (NER, POS, any tags).

Part of the `finetune` subcommand (its options are added there); kept apart so that each task's
command line reads on its own.
"""

from __future__ import annotations

import argparse
import sys


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


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _on_event(event: dict) -> None:
    kind = event.get("type")
    if kind == "eval":
        final = "final evaluation of the saved model" if event.get("final") else "eval"
        entity = f", entity F1 {event['eval_f1']:.4f}" if "eval_f1" in event else ""
        _say(
            f"{final} at step {event['step']}: loss {event['eval_loss']:.4f}, "
            f"token accuracy {event['eval_token_accuracy']:.4f}{entity}"
        )
    elif kind in ("oom", "status"):
        _say(event["message"])


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lmstudio_app.commands._common import first_ctrl_c_stops, throttled_progress
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.outputs import check_output_dir
    from lmstudio_app.core.tasks import Cancelled
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
        _say(f"{Path(plan.path).name}: {problem}")
    train, val = plan.build(data)
    settings = TokenSettings(
        base_model=args.model,
        max_length=args.max_length or 128,
        val_fraction=args.val_split,
        all_pieces=args.all_pieces,
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
    tags = tag_list(train, val)
    _say(
        f"{len(train)} training sentences, {len(val)} validation sentences, {len(tags)} tags: {', '.join(tags[:20])}"
    )
    state = throttled_progress()
    try:
        with first_ctrl_c_stops(state):
            result = train_tagger(
                train,
                val,
                settings,
                out,
                state=state,
                on_event=_on_event,
                resume=args.resume,
                model_dir=out,
                plan=plan,
            )
    except Cancelled as exc:
        _say(f"{exc}; continue with the same command plus --resume")
        return 130
    m = result.metrics
    entity = f", entity F1 {m['eval_f1']:.4f}" if "eval_f1" in m else ""
    print(f"token accuracy {m['eval_token_accuracy']:.4f}{entity}; model saved to {out}")
    return 0
