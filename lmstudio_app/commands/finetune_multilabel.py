"""`lmstudio-app finetune --csv FILE --text-column C --label-column L --multi-label [--label-separator S]
[--threshold T] -o DIR`: any number of labels per text (a sigmoid per label and a threshold).

Part of `finetune --task labels` (its options are added there); kept apart so that the variant's options,
refusals and words read in one place.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from lmstudio_app.commands._common import real_number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--multi-label",
        action="store_true",
        help="--task labels: a label cell holds several labels (or none); one sigmoid per label and a "
        "threshold, tuned on the validation rows to maximise micro-F1 unless --threshold",
    )
    parser.add_argument(
        "--label-separator",
        metavar="S",
        help="with --multi-label: what joins a cell's labels, e.g. ';' or '|' ('json': JSON lists; "
        "default: guessed from the column)",
    )
    parser.add_argument(
        "--threshold",
        type=real_number(0, 1, low_open=True, high_open=True),
        help="with --multi-label: a fixed probability from which a label applies (default: tuned)",
    )


def check(args: argparse.Namespace) -> None:
    """Refuse the options where they make no sense, before any work."""
    from lmstudio_app.core.errors import UserError

    given = [name for name, on in _options(args) if on]
    if given and args.task != "labels":
        raise UserError(
            f"{', '.join(given)} go with --task labels (texts in a table), not --task {args.task}."
        )
    if not args.multi_label and (args.label_separator is not None or args.threshold is not None):
        raise UserError("--label-separator and --threshold go with --multi-label (several labels per text).")
    if args.label_separator is not None and not args.label_separator.strip():
        raise UserError("--label-separator needs a character or two, e.g. ';' or '|' (or 'json').")


def _options(args: argparse.Namespace) -> list[tuple[str, bool]]:
    return [
        ("--multi-label", args.multi_label),
        ("--label-separator", args.label_separator is not None),
        ("--threshold", args.threshold is not None),
    ]


def source_options(args: argparse.Namespace) -> dict[str, Any]:
    """How a table's labels are read (DataSource fields): several per cell, and their separator (None: guess
    it from the column). A command without these options (distill) reads one label per cell."""
    from lmstudio_app.core.data.multilabel import separator_named

    if not getattr(args, "multi_label", False):
        return {}
    given = args.label_separator
    return {"multi_label": True, "label_separator": None if given is None else separator_named(given)}


def settle(plan: Any, data: Any, args: argparse.Namespace) -> Any:
    """The plan with the separator the training data was read with (guessed or given): a validation file
    is read the same way, and a resume reads the same labels again."""
    from lmstudio_app.commands._training import say
    from lmstudio_app.core.data.multilabel import describe_separator

    if not getattr(args, "multi_label", False):
        return plan
    used = data.source.label_separator
    if args.label_separator is None:
        say(f"labels in a cell: {describe_separator(used)} (guessed; --label-separator to choose)")
    val = replace(plan.val_data, label_separator=used) if plan.val_data is not None else None
    return replace(plan, data=replace(plan.data, label_separator=used), val_data=val)


def scores(event: dict) -> str:
    """One evaluation's figures in words."""
    return (
        f"micro-F1 {event['eval_micro_f1']:.4f}, macro-F1 {event['eval_macro_f1']:.4f} "
        f"(threshold {event['eval_threshold']:.3f})"
    )


def summary(metrics: dict) -> str:
    """The saved model's figures in one line, saying where its threshold came from."""
    return f"{scores(metrics)[:-1]}, {metrics['threshold_source']})"
