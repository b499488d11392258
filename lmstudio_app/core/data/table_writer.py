"""Writing a table in the format its file name asks for, atomically: out.xlsx is a real workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmstudio_app.core.jsonio import OutputError, atomic_path
from lmstudio_app.core.outputs import check_format

TABLE_FORMATS = (".csv", ".tsv", ".xlsx", ".jsonl", ".json")


def write_table(frame: Any, path: Path | str) -> None:
    """Write the pandas DataFrame `frame` to `path` as CSV, TSV (UTF-8), an Excel workbook, JSON Lines
    or a JSON array of objects (the forms the table reader takes back), chosen by the suffix."""
    path = Path(path)
    kind = check_format(path, TABLE_FORMATS)
    with atomic_path(path) as tmp:
        if kind in (".csv", ".tsv"):
            frame.to_csv(tmp, index=False, encoding="utf-8", sep="\t" if kind == ".tsv" else ",")
        elif kind == ".xlsx":
            _write_xlsx(frame, tmp, path)
        else:
            frame.to_json(tmp, orient="records", lines=kind == ".jsonl", force_ascii=False)


def _write_xlsx(frame: Any, tmp: Path, path: Path) -> None:
    from openpyxl.utils.exceptions import IllegalCharacterError

    try:
        frame.to_excel(tmp, index=False, engine="openpyxl")
    except IllegalCharacterError as exc:
        raise OutputError(
            f"cannot write {path}: the table holds control characters a workbook cannot store; "
            "write .csv, .tsv or .jsonl instead"
        ) from exc
    except ValueError as exc:  # more rows or columns than a sheet holds
        raise OutputError(f"cannot write {path}: {exc}; write .csv, .tsv or .jsonl instead") from exc
