"""`lmstudio-app predict -m DIR TEXT...` or `--csv FILE --text-column C -o OUT.csv`: use a fine-tuned classifier."""

from __future__ import annotations

import argparse
import sys

from lmstudio_app.commands import predict_multilabel, predict_qa, predict_tokens
from lmstudio_app.commands._common import print_json, stderr_progress

NAME = "predict"
HELP = "classify texts (or every row of a CSV) with a fine-tuned model folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-m", "--model", required=True, help="a fine-tuned classifier folder (finetune's -o DIR)"
    )
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify")
    parser.add_argument("--json", action="store_true", help='print [{"text", "label", "score"}, ...]')
    parser.add_argument("--csv", help="classify every row of this table instead")
    parser.add_argument("--conll", help="a word tagger: tag every token of this CoNLL file into -o OUT")
    parser.add_argument("--text-column", help="the text column of --csv")
    parser.add_argument("--text-pair-column", help="the second text column of --csv (sentence pairs)")
    parser.add_argument(
        "-o",
        "--output",
        help="write the predictions as a table: .csv, .tsv, .xlsx, .jsonl or .json (with --csv: every row "
        "plus predicted_label, score and note)",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps (default: cpu)")
    predict_qa.add_arguments(parser)
    predict_multilabel.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lmstudio_app.core.data.table_writer import TABLE_FORMATS, write_table
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.finetune.predict import predict_csv, predict_texts
    from lmstudio_app.core.outputs import check_output_file

    if predict_multilabel.wanted(args):  # first: it names the folder's kind when given another task's input
        return predict_multilabel.run(args)
    if predict_qa.wanted(args):
        return predict_qa.run(args)
    if predict_tokens.wanted(args):
        return predict_tokens.run(args)
    if args.csv:
        if args.texts:
            raise UserError("Give either texts or --csv, not both.")
        if not args.text_column or not args.output:
            raise UserError("--csv needs --text-column C and -o OUT.csv.")
    elif not args.texts:
        raise UserError(
            "Nothing to classify: give one or more texts, or --csv FILE --text-column C -o OUT.csv."
        )
    out = check_output_file(args.output, TABLE_FORMATS) if args.output else None
    if args.csv:
        done = predict_csv(
            Path(args.model),
            Path(args.csv),
            args.text_column,
            out,
            text_pair_column=args.text_pair_column,
            device=args.device,
            state=stderr_progress(),
        )
        empty = (
            f"; {done.skipped_empty} with an empty text have no label (note: empty text)"
            if done.skipped_empty
            else ""
        )
        for problem in done.problems:
            print(f"note: {Path(args.csv).name}: {problem}", file=sys.stderr)
        print(f"{done.rows} rows written to {args.output}{empty}")
        return 0
    results = predict_texts(Path(args.model), list(args.texts), device=args.device)
    rows = [
        {"text": t, "label": label, "score": score}
        for t, (label, score) in zip(args.texts, results, strict=True)
    ]
    if out is not None:
        import pandas as pd

        write_table(pd.DataFrame(rows, columns=["text", "label", "score"]), out)
        print(f"{len(rows)} rows written to {out}")
    elif args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['label']}\t{row['score']:.3f}\t{row['text']}")
    return 0
