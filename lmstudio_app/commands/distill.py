"""`lmstudio-app distill --teacher DIR --student-layers N --csv FILE ... -o OUT`: a smaller classifier
trained on a fine-tuned one's soft targets; OUT is a normal fine-tuned folder (predict -m, optimize --compare).

Like the other training commands it also starts from a run's settings file (`--settings FILE`, how the GUI
starts it) and writes its events for a follower (`--events FILE`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lmstudio_app.commands._common import real_number, whole_number
from lmstudio_app.commands._events import add_events_argument, reported, reports_events, training_progress
from lmstudio_app.commands._saved import add_settings_argument, run_saved, saved_run
from lmstudio_app.commands._training import (
    CANCELLED,
    engine_settings,
    eval_printer,
    launch_ranks,
    say,
    train_until_done,
    wants_ranks,
)
from lmstudio_app.commands.finetune import add_run_options, choose_max_length, read_splits

NAME = "distill"
HELP = "distil a fine-tuned classifier into a smaller, faster student (soft targets, temperature, alpha)"
NEEDED = (
    "--teacher DIR, --student-layers N or --student MODEL, and --csv FILE --text-column C --label-column L"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--teacher", metavar="DIR", help="the fine-tuned classifier folder to learn from")
    student = parser.add_mutually_exclusive_group()
    student.add_argument(
        "--student-layers",
        type=whole_number(1),
        metavar="N",
        help="a student of N of the teacher's own layers, evenly spaced (3 of 6: layers 0, 2, 4)",
    )
    student.add_argument(
        "--student", metavar="MODEL", help="a smaller encoder (folder or embedded name) given a new head"
    )
    parser.add_argument("--csv", help="the training table (CSV, TSV, JSONL or XLSX)")
    parser.add_argument("--text-column", help="the column with the texts")
    parser.add_argument("--text-pair-column", help="a second text column (sentence pairs)")
    parser.add_argument("--label-column", help="the column with the labels (the teacher's classes)")
    parser.add_argument(
        "-o", "--output", required=True, help="the folder to write (the student, metrics.json, checkpoints)"
    )
    parser.add_argument(
        "--temperature",
        type=real_number(0, 100, low_open=True),
        metavar="T",
        default=2.0,
        help="softens both sides' probabilities: higher shows more of the teacher's second choices (default 2)",
    )
    parser.add_argument(
        "--alpha",
        type=real_number(0, 1),
        metavar="A",
        default=0.5,
        help="weight of the soft targets against the hard labels, 0 to 1 (default 0.5)",
    )
    add_run_options(parser)
    add_settings_argument(parser, "the teacher, student and data options")
    add_events_argument(parser)


def scores(event: dict) -> str:
    return f"accuracy {event['eval_accuracy']:.4f}, macro-F1 {event['eval_macro_f1']:.4f}"


def summary(metrics: dict) -> str:
    """The student's final figures beside the teacher's, in one line."""
    return (
        f"accuracy {metrics['eval_accuracy']:.4f} (teacher {metrics['teacher_eval_accuracy']:.4f}), macro-F1 "
        f"{metrics['eval_macro_f1']:.4f}, agreement with the teacher {metrics['eval_teacher_agreement']:.4f}"
    )


def start_saved(saved: Any, out: Path, state: Any, on_event: Any) -> Any:
    """A distillation as a run's settings file says (`--settings FILE`)."""
    from lmstudio_app.core.finetune.datasets import DataPlan, build_splits
    from lmstudio_app.core.finetune.distill import DistillSettings, distill

    plan = DataPlan.from_saved(saved.job)
    train, val = build_splits(plan, state=state)
    settings = DistillSettings.from_dict(saved.settings)
    return distill(train, val, settings, out, state=state, on_event=on_event, plan=plan)


@reports_events
def run(args: argparse.Namespace) -> int:
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.finetune.distill import DistillSettings, distill
    from lmstudio_app.core.finetune.student import check_student, read_teacher
    from lmstudio_app.core.outputs import check_output_dir
    from lmstudio_app.core.training.record import RunRecord

    saved = saved_run(args, data_given=bool(args.csv or args.teacher))
    if saved is not None:
        return run_saved(args, saved, NAME)
    if not (args.teacher and (args.student_layers or args.student) and args.csv):
        raise UserError(
            f"distill needs {NEEDED} (or --settings FILE; --resume -o DIR alone continues a run)."
        )
    if not (args.text_column and args.label_column):
        raise UserError(
            "--csv needs --text-column C and --label-column L: the texts and the teacher's classes."
        )
    out = check_output_dir(args.output)  # before reading any model or data
    RunRecord(out).check_start(args.resume)
    teacher = read_teacher(Path(args.teacher).expanduser().resolve())
    check_student(teacher, args.student_layers or 0, args.student)
    # The student's base and tokenizer: the teacher's own for a student of its layers.
    args.model = str(teacher.path) if args.student_layers else args.student
    state = training_progress(args)
    plan, train, val = read_splits(args, state)
    settings = DistillSettings(
        **engine_settings(args, out),
        text_column=args.text_column,
        label_column=args.label_column,
        text_pair_column=args.text_pair_column,
        max_length=choose_max_length(args, train),
        teacher=str(teacher.path),
        student_layers=args.student_layers or 0,
        temperature=args.temperature,
        alpha=args.alpha,
    )
    say(
        f"{len(train)} training rows, {len(val)} validation rows; teacher: {teacher.layers} layers, classes "
        f"{', '.join(teacher.labels[:10])}"
    )
    if wants_ranks(args):
        return launch_ranks(args, out, settings.batch_size)
    result = train_until_done(
        state,
        lambda: distill(
            train,
            val,
            settings,
            out,
            state=state,
            on_event=reported(args, eval_printer(scores)),
            resume=args.resume,
            model_dir=out,
            plan=plan,
        ),
    )
    if result is None:
        return CANCELLED
    print(f"{summary(result.metrics)}; student saved to {out}")
    say(f"speed and size beside the teacher: lmstudio-app optimize -m {teacher.path} --compare {out} -o DIR")
    return 0
