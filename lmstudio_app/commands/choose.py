"""`lmstudio-app choose`: rank candidate base models for a labelled table before fine-tuning one."""

from __future__ import annotations

import argparse
import sys

from lmstudio_app.commands._common import MAX_SEED, print_json, stderr_progress, whole_number

NAME = "choose"
HELP = (
    "rank base models for a labelled table before fine-tuning: LogME and a linear probe on frozen "
    "sentence vectors of a stratified sample, with each model's size and embedding time"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", required=True, help="the labelled table (CSV, TSV, JSONL or XLSX)")
    parser.add_argument("--text-column", required=True, help="the column with the texts")
    parser.add_argument("--label-column", required=True, help="the column with the labels")
    parser.add_argument(
        "-m",
        "--model",
        action="append",
        required=True,
        help="a candidate: embedded name, local folder or cached hub id; repeat for each candidate",
    )
    parser.add_argument(
        "--sample",
        type=whole_number(10),
        default=500,
        help="rows to embed, stratified by label (default 500; all rows when the table has fewer)",
    )
    parser.add_argument("--seed", type=whole_number(0, MAX_SEED), default=42, help="sample and folds seed")
    parser.add_argument("--max-length", type=whole_number(8, 8192), default=128, help="tokens per text")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default: cpu)")
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"models": [{"model", "score", "probe_accuracy", "parameters", "memory_bytes", '
        '"seconds"}], "rows"}, best first',
    )


def _table(ranked: list) -> str:
    from lmstudio_app.core.models.devices import format_bytes

    lines = [
        f"{'model':30} {'LogME':>8} {'probe acc':>9} {'params':>10} {'fp32':>9} {'bf16':>9} {'embed s':>8}"
    ]
    for r in ranked:
        lines.append(
            f"{r.model[-30:]:30} {r.score:8.3f} {r.probe_accuracy:9.3f} {r.parameters / 1e6:9.1f}M "
            f"{format_bytes(r.memory_bytes['float32']):>9} {format_bytes(r.memory_bytes['bfloat16']):>9} "
            f"{r.seconds:8.2f}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from lmstudio_app.core.choose.rank import Candidate, ChooseOptions, rank_models
    from lmstudio_app.core.data.labeled import prepare
    from lmstudio_app.core.data.table import read_table

    progress = stderr_progress()
    data = prepare(read_table(args.csv, state=progress), args.text_column, args.label_column)
    candidates = [Candidate(spec, spec) for spec in args.model]
    options = ChooseOptions(args.sample, args.seed, args.max_length, args.device)
    ranking = rank_models(candidates, data, options, state=progress)  # refuses any candidate before loading
    if args.json:
        print_json(ranking.to_dict())
    else:
        print(_table(ranking.models))
        print(
            f"best first by LogME (higher is better) on a stratified sample of {ranking.rows:,} rows; "
            "probe: cross-validated logistic-regression accuracy",
            file=sys.stderr,
        )
    return 0
