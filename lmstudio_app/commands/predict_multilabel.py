"""`lmstudio-app predict -m MULTI_LABEL_MODEL [--json] TEXT...` or `--csv FILE --text-column C -o OUT`.

Part of the `predict` subcommand: taken when the model folder is a multi-label classifier or --threshold is
given (which only such a folder takes). Every label's score, and the labels at or above the threshold.
"""

from __future__ import annotations

import argparse
import sys

from lmstudio_app.commands._common import real_number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threshold",
        type=real_number(0, 1, low_open=True, high_open=True),
        help="a multi-label classifier: the probability from which a label applies (default: the folder's)",
    )


def wanted(args: argparse.Namespace) -> bool:
    from lmstudio_app.core.finetune.multilabel_predict import is_multi_label

    return args.threshold is not None or is_multi_label(args.model)


def _refuse_other_tasks(args: argparse.Namespace) -> None:
    from lmstudio_app.core.errors import UserError

    what = "--conll (a word tagger's input)" if args.conll else None
    if args.question is not None or args.context is not None or args.data:
        what = "a question (a question-answering model's input)"
    if what:
        raise UserError(
            f"{args.model} is a multi-label text classifier: it takes texts or --csv FILE --text-column C "
            f"-o OUT, not {what}."
        )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lmstudio_app.commands._common import print_json, stderr_progress
    from lmstudio_app.core.data.table_writer import TABLE_FORMATS
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.finetune.multilabel_predict import predict_table, reading, score_texts
    from lmstudio_app.core.outputs import check_output_file

    model = Path(args.model)
    reading(model, args.threshold)  # a folder of another kind is refused first, in one line
    _refuse_other_tasks(args)
    if args.csv:
        if args.texts:
            raise UserError("Give either texts or --csv, not both.")
        if not args.text_column or not args.output:
            raise UserError("--csv needs --text-column C and -o OUT.csv.")
        out = check_output_file(args.output, TABLE_FORMATS)
        done = predict_table(
            model,
            Path(args.csv),
            args.text_column,
            out,
            text_pair_column=args.text_pair_column,
            threshold=args.threshold,
            device=args.device,
            state=stderr_progress(),
        )
        for problem in done.problems:
            print(f"note: {Path(args.csv).name}: {problem}", file=sys.stderr)
        empty = f"; {done.skipped_empty} with an empty text have no labels" if done.skipped_empty else ""
        print(f"{done.rows} rows written to {out}{empty}")
        return 0
    if not args.texts:
        raise UserError("Nothing to classify: give one or more texts, or --csv FILE --text-column C -o OUT.")
    if args.output:
        raise UserError("-o goes with --csv; the labels of texts are printed (--json for JSON).")
    results = score_texts(model, list(args.texts), threshold=args.threshold, device=args.device)
    if args.json:
        rows = [{"text": text, **r.to_dict()} for text, r in zip(args.texts, results, strict=True)]
        print_json(rows[0] if len(rows) == 1 else rows)
        return 0
    for text, r in zip(args.texts, results, strict=True):
        scores = "  ".join(f"{name} {score:.3f}" for name, score in r.scores)
        print(f"{', '.join(r.predicted) or '(no label)'}\t{text}\n  {scores}")
    return 0
