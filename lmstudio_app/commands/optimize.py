"""`lmstudio-app optimize -m DIR --method onnx-int8 -o OUT`: a smaller, faster copy run by ONNX Runtime,
with the original and every variant measured side by side."""

from __future__ import annotations

import argparse
import sys

from lmstudio_app.commands._common import print_json, stderr_progress, whole_number

NAME = "optimize"
HELP = (
    "export a fine-tuned classifier (or a masked LM) to ONNX fp32/int8 and compare speed, size and accuracy"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", required=True, help="a fine-tuned classifier folder, or a masked LM")
    parser.add_argument(
        "--method",
        choices=["onnx-fp32", "onnx-int8"],
        default="onnx-int8",
        help="onnx-fp32: same numbers, faster runtime; onnx-int8: int8 weights, about 4x smaller "
        "(default: onnx-int8)",
    )
    parser.add_argument("-o", "--output", required=True, help="a new or empty folder for the optimized model")
    parser.add_argument(
        "--csv",
        help="measure accuracy on this table (default: the validation rows of the run the model came from)",
    )
    parser.add_argument("--text-column", help="the text column of --csv")
    parser.add_argument("--text-pair-column", help="the second text column of --csv (sentence pairs)")
    parser.add_argument("--label-column", help="the label column of --csv (without it: no accuracy)")
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="DIR",
        help="also measure this model folder (e.g. a distilled student, or another optimized folder); repeatable",
    )
    parser.add_argument(
        "--threads",
        type=whole_number(1, 256),
        default=1,
        help="intra-op threads for every timing (default 1: the cost of one request on one core)",
    )
    parser.add_argument("--json", action="store_true", help='print {"variants": [...], ...} as JSON')


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.optimize.rows import TableSpec
    from lmstudio_app.core.optimize.run import OptimizeRequest, optimize

    table = None
    if args.csv:
        if not args.text_column:
            raise UserError("--csv needs --text-column C (and --label-column L for accuracy).")
        table = TableSpec(Path(args.csv), args.text_column, args.label_column, args.text_pair_column)
    elif args.text_column or args.label_column or args.text_pair_column:
        raise UserError("--text-column and --label-column go with --csv FILE.")
    request = OptimizeRequest(
        Path(args.model),
        args.method,
        Path(args.output),
        table,
        tuple(Path(p) for p in args.compare),
        args.threads,
    )
    comparison = optimize(request, stderr_progress())
    if args.json:
        print_json(comparison.to_dict())
        return 0
    threads = f"{args.threads} thread" + ("s" if args.threads > 1 else "")
    print(f"measured on {comparison.rows:,} {comparison.rows_source}; latency at batch 1 on {threads}")
    print(comparison.table())
    for note in comparison.notes:
        print(f"note: {note}", file=sys.stderr)
    use = "fill-mask -m {} 'TEXT WITH [MASK]'" if comparison.kind == "masked-lm" else "predict -m {} TEXT"
    print(f"optimized model written to {args.output} (use it with: lmstudio-app {use.format(args.output)})")
    return 0
