"""`lmstudio-app inspect-csv FILE`: what the wizard's Data and Columns steps would show about a table."""

from __future__ import annotations

import argparse

from lmstudio_app.commands._common import print_json

NAME = "inspect-csv"
HELP = "show a CSV/TSV/JSONL/XLSX file's rows, columns, encoding, delimiter and problems"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the table to inspect")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from lmstudio_app.core.data.table import inspect_table

    info = inspect_table(args.file)
    if args.json:
        print_json(info)
        return 0
    delimiter = {"\t": "tab", "": "(none)"}.get(info["delimiter"], info["delimiter"])
    print(f"rows:      {info['rows']}")
    print(f"columns:   {', '.join(info['columns'])}")
    print(f"encoding:  {info['encoding']}")
    print(f"delimiter: {delimiter}")
    print("problems:  " + ("none" if not info["problems"] else ""))
    for problem in info["problems"]:
        print(f"  - {problem}")
    return 0
