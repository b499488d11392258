"""`lmstudio-app finetune`: the wizard's job without the window; writes a loadable HF folder plus metrics.json."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lmstudio_app.commands import finetune_multilabel, finetune_qa, finetune_tokens
from lmstudio_app.commands._common import (
    MAX_SEED,
    real_number,
    whole_number,
)
from lmstudio_app.commands._events import add_events_argument, reported, reports_events, training_progress
from lmstudio_app.commands._saved import add_settings_argument, run_saved, saved_run
from lmstudio_app.commands._training import (
    CANCELLED,
    add_processes_argument,
    engine_settings,
    eval_printer,
    launch_ranks,
    say,
    train_until_done,
    wants_ranks,
)
from lmstudio_app.core.models.sources import DEFAULT_ENCODER

NAME = "finetune"
HELP = "fine-tune a text classifier on a CSV/TSV/JSONL/XLSX file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-m", "--model", default=DEFAULT_ENCODER, help=f"base model (default: {DEFAULT_ENCODER})"
    )
    parser.add_argument(
        "--task",
        choices=["labels", "tokens", "qa"],
        default="labels",
        help="labels: one label per text (--csv); tokens: a tag per word, NER or POS (--data); "
        "qa: extractive question answering (--data)",
    )
    parser.add_argument("--csv", help="the training table (CSV, TSV, JSONL or XLSX) of --task labels")
    parser.add_argument(
        "--data",
        help="the training file of --task tokens (CoNLL, or JSONL tokens/spans) or --task qa (SQuAD "
        "JSON/JSONL, or a table with question, context and answer columns)",
    )
    parser.add_argument("--val-data", help="a separate validation file for --data (same layout)")
    parser.add_argument("--text-column", help="the column with the texts")
    parser.add_argument("--text-pair-column", help="a second text column (sentence pairs)")
    parser.add_argument("--label-column", help="the column with the labels")
    parser.add_argument(
        "-o", "--output", required=True, help="the folder to write (model, metrics.json, checkpoints)"
    )
    add_run_options(parser)
    finetune_multilabel.add_arguments(parser)
    finetune_tokens.add_arguments(parser)
    finetune_qa.add_arguments(parser)
    add_settings_argument(parser, "--csv/--data")
    add_events_argument(parser)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The validation, training and table-reading options of a classifier run (`distill` takes them too)."""
    val = parser.add_mutually_exclusive_group()
    val.add_argument(
        "--val-split",
        type=real_number(0, 1, low_open=True, high_open=True),
        default=0.2,
        help="validation fraction, stratified (default 0.2)",
    )
    val.add_argument("--val-csv", help="a separate validation table (same columns)")
    parser.add_argument("--epochs", type=real_number(0, low_open=True), default=3.0)
    parser.add_argument(
        "--lr",
        type=real_number(0, 1, low_open=True, high_open=True),
        default=1e-4,
        help="learning rate (default 1e-4)",
    )
    parser.add_argument("--batch-size", type=whole_number(1), default=16)
    parser.add_argument(
        "--max-length",
        type=whole_number(8, 8192),
        help="max tokens per text (default: 95th percentile of the data)",
    )
    parser.add_argument("--seed", type=whole_number(0, MAX_SEED), default=42)
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in -o DIR from its last checkpoint"
    )
    parser.add_argument(
        "--keep-label-variants",
        action="store_true",
        help="keep labels that differ only in case or spaces apart",
    )
    parser.add_argument("--warmup-ratio", type=real_number(0, 1, high_open=True), default=0.1)
    parser.add_argument("--weight-decay", type=real_number(0), default=0.01)
    parser.add_argument(
        "--patience", type=whole_number(0), default=3, help="early-stopping patience in evaluations (0: off)"
    )
    parser.add_argument("--grad-accum", type=whole_number(1), default=1, help="gradient accumulation steps")
    parser.add_argument(
        "--max-steps", type=whole_number(1), default=-1, help="stop after this many steps (quick tries)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    add_processes_argument(parser)
    parser.add_argument("--encoding", help="the table's encoding (default: detected)")
    parser.add_argument("--delimiter", help="the table's delimiter (default: detected); 'tab' for a tab")


def _scores(event: dict) -> str:
    return f"accuracy {event['eval_accuracy']:.4f}, macro-F1 {event['eval_macro_f1']:.4f}"


def table_source(path: str, args: argparse.Namespace) -> Any:
    from lmstudio_app.core.data.labeled import DataSource

    delimiter = "\t" if (args.delimiter or "").lower() in ("tab", "\\t") else args.delimiter
    return DataSource(
        path=path,
        encoding=args.encoding or "",
        delimiter=delimiter or "",
        text_column=args.text_column,
        label_column=args.label_column,
        text_pair_column=args.text_pair_column,
        merge_variants=not args.keep_label_variants,
        **finetune_multilabel.source_options(args),
    )


def report_table(data: Any) -> None:
    """What reading the table fixed or noticed, in plain words on stderr."""
    for problem in data.read_problems:
        say(f"{Path(data.source.path).name}: {problem}")
    if data.merged:
        shown = ", ".join(f"{w!r} -> {c!r}" for w, c in sorted(data.merged.items())[:10])
        say(f"merged label variants: {shown} (--keep-label-variants keeps them apart)")
    for warning in data.warnings:
        if not warning.startswith("labels that differ only"):
            say(f"warning: {warning}")


def choose_max_length(args: argparse.Namespace, train: Any) -> int:
    if args.max_length is not None:
        return args.max_length
    from lmstudio_app.core.finetune.encode import measure_lengths

    _, length = measure_lengths(args.model, train)
    say(f"max length {length} tokens (covers the data's texts; --max-length to change)")
    return length


def read_splits(args: argparse.Namespace, state: Any) -> tuple[Any, Any, Any]:
    """(data plan, training rows, validation rows) of --csv (and --val-csv or --val-split), with what
    reading them noticed said on stderr."""
    from lmstudio_app.core.data.labeled import split_warnings
    from lmstudio_app.core.finetune.datasets import DataPlan, build_splits, load_labeled

    plan = DataPlan(
        table_source(args.csv, args),
        table_source(args.val_csv, args) if args.val_csv else None,
        args.val_split,
        args.seed,
    )
    data = load_labeled(plan.data, state)
    plan = finetune_multilabel.settle(plan, data, args)
    report_table(data)
    train, val = build_splits(plan, data=data, state=state)
    if plan.val_data is not None:
        report_table(val)
    for warning in split_warnings(train, val):
        say(f"warning: {warning}")
    return plan, train, val


@reports_events
def run(args: argparse.Namespace) -> int:
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.finetune.job import fine_tune
    from lmstudio_app.core.finetune.settings import FineTuneSettings
    from lmstudio_app.core.outputs import check_output_dir
    from lmstudio_app.core.training.record import RunRecord

    finetune_multilabel.check(args)
    saved = saved_run(args, data_given=bool(args.csv or args.data))
    if saved is not None:
        return run_saved(args, saved, NAME)
    if args.task == "tokens":
        return finetune_tokens.run(args)
    if args.task == "qa":
        return finetune_qa.run(args)
    if not (args.csv and args.text_column and args.label_column):
        raise UserError("--task labels needs --csv FILE --text-column C --label-column L.")
    out = check_output_dir(args.output)  # before reading any data: the answers do not depend on it
    RunRecord(out).check_start(args.resume)
    state = training_progress(args)
    plan, train, val = read_splits(args, state)
    settings = FineTuneSettings(
        **engine_settings(args, out),
        text_column=args.text_column,
        label_column=args.label_column,
        text_pair_column=args.text_pair_column,
        max_length=choose_max_length(args, train),
        threshold=args.threshold,
    )
    kinds = "labels" if args.multi_label else "classes"
    say(f"{len(train)} training rows, {len(val)} validation rows, {len(train.label_names)} {kinds}")
    if wants_ranks(args):
        return launch_ranks(args, out, settings.batch_size)

    result = train_until_done(
        state,
        lambda: fine_tune(
            train,
            val,
            settings,
            out,
            state=state,
            on_event=reported(
                args, eval_printer(finetune_multilabel.scores if args.multi_label else _scores)
            ),
            resume=args.resume,
            model_dir=out,
            plan=plan,
        ),
    )
    if result is None:
        return CANCELLED
    m = result.metrics
    if args.multi_label:
        print(f"{finetune_multilabel.summary(m)}; model saved to {out}")
        return 0
    print(f"accuracy {m['eval_accuracy']:.4f}, macro-F1 {m['eval_macro_f1']:.4f}; model saved to {out}")
    return 0
