"""Read a user's table (CSV/TSV/JSON/JSONL/XLSX), map its columns to texts and labels, and split it.

Every problem a spreadsheet export can have (encodings, delimiters, ragged rows, duplicate headers,
label variants) is either handled and listed in plain words, or refused with a one-line DataError
that says what to do: the user never sees a traceback and never silently loses rows.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gc
import io
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.tasks import TaskState, ensure_state

if TYPE_CHECKING:
    import pandas

DELIMITERS = (",", ";", "\t", "|")
MIN_TRAIN_PER_CLASS = 5
_SNIFF_BYTES = 256 * 1024
_PROGRESS_ROWS = 5000
_FRAME_ROWS = 5000
_DECODE_CHUNK = 1 << 20
JSON_SHAPE = (
    'give an array of objects, one per row ([{"text": ..., "label": ...}, ...]), or JSON Lines (one object '
    "per line)"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_MAGIC = {
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx or .docx?)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
    b"\xd0\xcf\x11\xe0": "an old Excel/Word (.xls/.doc) file",
    b"SQLite format": "an SQLite database",
}


class DataError(UserError):
    """A table that cannot be used as is; the message says what is wrong and what to do."""


@dataclass
class Table:
    """A table read from disk: every cell a str (missing -> ""), plus how it was read and what was fixed."""

    frame: pandas.DataFrame
    path: Path
    encoding: str
    delimiter: str
    problems: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]


# ---------------------------------------------------------------- reading


def read_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    state: TaskState | None = None,
) -> Table:
    """Read a CSV/TSV/TXT (encoding and delimiter detected unless given), JSONL or XLSX file as strings."""
    state = ensure_state(state)
    path = Path(path)
    if not path.exists():
        raise DataError(f"File not found: {path}. Check the path.")
    if path.is_dir():
        raise DataError(f"{path} is a folder; pick a CSV, TSV, JSONL or XLSX file.")
    state.progress(0.0, f"Reading {path.name}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    if not raw.strip():
        raise DataError(f"{path.name} is empty: it has no header and no rows. Export the table again.")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm") or (raw.startswith(b"PK\x03\x04") and _is_xlsx(path)):
        return _read_xlsx(path, state)
    enc = encoding or detect_encoding(raw, path.name)
    try:  # strict, but a character cut at the end of the sample is not an error
        sample = _normalised(codecs.getincrementaldecoder(enc)().decode(raw[:_SNIFF_BYTES]))
    except LookupError as exc:
        raise DataError(f"Unknown encoding {enc!r}: pick another (e.g. utf-8, cp1252, utf-16).") from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name} cannot be decoded as {enc}: pick another encoding (e.g. utf-8, cp1252, utf-16)."
        ) from exc
    if len(raw) > _SNIFF_BYTES and "\n" in sample:  # the last line of the sample may be cut
        sample = sample[: sample.rfind("\n") + 1]
    if not sample.strip():
        raise DataError(f"{path.name} is empty: it has no header and no rows. Export the table again.")
    if suffix == ".json":
        return _read_json(path, _normalised(_decode(raw, enc, path.name)), enc, state)
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(path, _normalised(_decode(raw, enc, path.name)), enc, state)
    delim = delimiter if delimiter else detect_delimiter(sample, path.name)
    if len(delim) != 1:
        raise DataError(f"The delimiter must be one character, not {delim!r} (use ',', ';', tab or '|').")
    return _read_delimited(path, raw, enc, delim, state)


def _normalised(text: str) -> str:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _decode(raw: bytes, encoding: str, name: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name} cannot be decoded as {encoding}: pick another encoding (e.g. utf-8, cp1252, utf-16)."
        ) from exc


def inspect_table(path: str | Path) -> dict:
    """What the Data and Columns steps show: rows, columns, encoding, delimiter and problems."""
    table = read_table(path)
    return {
        "rows": len(table.frame),
        "columns": table.columns,
        "encoding": table.encoding,
        "delimiter": table.delimiter,
        "problems": list(table.problems),
    }


def detect_encoding(raw: bytes, name: str = "the file") -> str:
    """BOMs first, then UTF-16 without BOM, then strict UTF-8, then cp1252/latin-1; binary is refused."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = raw[:_SNIFF_BYTES]
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise DataError(
                f"{name} is {what}, not a text table. Save or export it as CSV and open that file."
            )
    if b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
            return "utf-16-be"
        raise _binary(name)
    if _decodes(raw, "utf-8"):
        return "utf-8"
    if any(0x80 <= b <= 0x9F for b in head) and _decodes(raw, "cp1252"):
        return "cp1252"
    return "latin-1"


def _decodes(raw: bytes, encoding: str) -> bool:
    """Whether `raw` decodes strictly, checked 1 MB at a time (no GIL-holding pass over a big file)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(raw)
    try:
        for start in range(0, len(raw), _DECODE_CHUNK):
            decoder.decode(view[start : start + _DECODE_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _binary(name: str) -> DataError:
    return DataError(
        f"{name} does not look like a text table (it contains binary data). Export it as CSV (UTF-8) and "
        "open that file."
    )


def detect_delimiter(text: str, name: str = "") -> str:
    """The candidate delimiter that splits the first rows into the most consistent number (> 1) of fields."""
    sample = text[:_SNIFF_BYTES]
    if len(text) > _SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    if _CONTROL.search(sample[:4096]) and len(_CONTROL.findall(sample[:4096])) > 8:
        raise _binary(name or "the file")
    best, best_score = ",", (False, 0.0, 0, 0)
    preferred = "\t" if name.lower().endswith((".tsv", ".tab")) else ","
    for delim in DELIMITERS:
        try:
            reader = csv.reader(io.StringIO(sample), delimiter=delim)
            rows = [r for r in itertools.islice(reader, 200) if r]
        except csv.Error:
            continue
        if not rows:
            continue
        counts = Counter(len(r) for r in rows)
        mode, hits = counts.most_common(1)[0]
        score = (mode > 1, hits / len(rows), delim == preferred, mode)
        if score > best_score:
            best, best_score = delim, score
    return best


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many small containers are made (they hold no cycles)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_delimited(path: Path, raw: bytes, encoding: str, delimiter: str, state: TaskState) -> Table:
    """Parse as the bytes are decoded, a chunk at a time: no single step holds the GIL for long."""
    import pandas as pd

    csv.field_size_limit(2**31 - 1)  # a single very long text must not stop the read
    total_lines = max(1, raw.count(b"\n"))
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding=encoding, newline="")
    reader = csv.reader(stream, delimiter=delimiter)
    rows: list[list[str]] = []
    last_start, line_before, blank = 1, 0, 0
    try:
        with _collector_paused():  # 100k row lists would trigger a full collection mid-read
            for row in reader:
                if row and any(cell.strip() for cell in row):
                    rows.append(
                        [c.replace("\r\n", "\n").replace("\r", "\n") if "\r" in c else c for c in row]
                    )
                    last_start = line_before + 1
                elif row:  # delimiters only (",,,"), as spreadsheets export trailing empty rows
                    blank += 1
                line_before = reader.line_num
                if len(rows) % _PROGRESS_ROWS == 0 and rows:
                    state.raise_if_stopped()
                    state.progress(
                        min(0.95, reader.line_num / total_lines), f"Reading {path.name}: {len(rows):,} rows"
                    )
    except csv.Error as exc:
        raise DataError(
            f"{path.name} line {reader.line_num}: {exc}. Fix that line or export the file again."
        ) from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name} cannot be decoded as {encoding}: pick another encoding (e.g. utf-8, cp1252, utf-16)."
        ) from exc
    if rows and rows[0]:
        rows[0][0] = rows[0][0].removeprefix("\ufeff")
    if not rows:
        raise DataError(f"{path.name} is empty: it has no header and no rows. Export the table again.")
    if reader.line_num - last_start > 0 and _decode(raw, encoding, path.name).count('"') % 2 == 1:
        raise DataError(
            f'{path.name} line {last_start}: a quote (") opens a field that is never closed, so the rest of the '
            "file would be read as one text. Close or remove that quote and try again."
        )
    if _CONTROL.search("".join(rows[0])):
        raise _binary(path.name)
    header, body = rows[0], rows[1:]
    problems = [_blank_rows(blank)] if blank else []
    width = len(header)
    short = [i for i, r in enumerate(body) if len(r) < width]
    long = [i for i, r in enumerate(body) if len(r) > width]
    if short:
        problems.append(
            f"{len(short)} ragged row{_s(len(short))} with fewer fields than the header padded with empty "
            f"values (first at line {_line_hint(short[0])})"
        )
    if long:
        extra = max(len(body[i]) for i in long)
        header = header + [f"column_{n + 1}" for n in range(width, extra)]
        problems.append(
            f"{len(long)} ragged row{_s(len(long))} with more fields than the header: the extra fields are kept "
            f"in column{_s(extra - width)} {', '.join(repr(h) for h in header[width:])} "
            f"(first at line {_line_hint(long[0])})"
        )
    width = len(header)
    names = _clean_header(header, problems)
    del rows
    # Built, and the row lists freed, in slices: a worker thread then never holds the GIL long enough
    # (one big C call, or freeing 100k lists at once) to freeze the window.
    parts = []
    while body:
        chunk = [r + [""] * (width - len(r)) if len(r) < width else r for r in body[-_FRAME_ROWS:]]
        del body[-_FRAME_ROWS:]
        parts.append(pd.DataFrame(chunk, columns=names, dtype=object))
        del chunk
    parts.reverse()
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=names, dtype=object)
    del parts
    if frame.empty:
        problems.append("only a header row, no data rows")
    state.progress(1.0, f"Read {len(frame):,} rows from {path.name}")
    return Table(frame, path, encoding, delimiter, problems)


def _blank_rows(n: int) -> str:
    return f"{n} row{_s(n)} with every cell empty skipped"


def _count(n: int, noun: str) -> str:
    """'1 line that is' / '3 lines that are': the start of a sentence about skipped input."""
    return f"1 {noun} that is" if n == 1 else f"{n} {noun}s that are"


def _line_hint(body_index: int) -> int:
    """A 1-based line number for a body row (approximate when quoted fields span lines)."""
    return body_index + 2


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _clean_header(header: list[str], problems: list[str]) -> list[str]:
    """Strip names, name blank columns, and rename duplicates 'x' -> 'x.1' (pandas' convention)."""
    names: list[str] = []
    seen: Counter[str] = Counter()
    blank = 0
    for i, raw in enumerate(header):
        name = str(raw).strip()
        if not name:
            name, blank = f"column_{i + 1}", blank + 1
        if name in seen:
            new = f"{name}.{seen[name]}"
            while new in seen:
                seen[name] += 1
                new = f"{name}.{seen[name]}"
            problems.append(f"duplicate column {name!r} renamed {new!r}")
            seen[name] += 1
            name = new
        seen[name] += 1
        names.append(name)
    if blank:
        problems.append(f"{blank} column{_s(blank)} without a name called column_N")
    return names


def _read_json(path: Path, text: str, encoding: str, state: TaskState) -> Table:
    """A .json file: an array of objects (one row each), or JSON Lines under a .json name."""
    import json

    try:
        value = json.loads(text)
    except ValueError as exc:
        if text.lstrip().startswith("{"):  # several objects, one per line: JSON Lines
            return _read_jsonl(path, text, encoding, state)
        raise DataError(
            f"{path.name} is not valid JSON ({exc.msg}, line {exc.lineno}): {JSON_SHAPE}, or a CSV file."
        ) from exc
    if isinstance(value, dict) and "\n" not in text.strip() and _is_row(value):
        value = [value]  # one object on one line: a one-row JSON Lines file
    if not isinstance(value, list):
        what = "one value"
        if isinstance(value, dict):
            what = (
                f"one JSON object (keys: {', '.join(list(value)[:5])})" if value else "one empty JSON object"
            )
        raise DataError(f"{path.name} holds {what}, not a table: {JSON_SHAPE}.")
    if not value:
        raise DataError(f"{path.name} is an empty JSON array (no rows): {JSON_SHAPE}.")
    state.progress(0.5, f"Reading {path.name}: {len(value):,} items")
    records = [_record(v) for v in value if isinstance(v, dict)]
    bad = [n for n, v in enumerate(value, start=1) if not isinstance(v, dict)]
    if not records:
        raise DataError(
            f"{path.name} is an array without JSON objects (its items are {_json_kind(value[0])}): {JSON_SHAPE}."
        )
    problems = [f"{_count(len(bad), 'item')} not a JSON object skipped (first: item {bad[0]})"] if bad else []
    return _records_table(path, records, encoding, problems)


def _is_row(value: dict) -> bool:
    """Whether one JSON object reads as a table row: at least one plain (not nested) value."""
    return any(not isinstance(v, dict | list) for v in value.values())


def _json_kind(value: object) -> str:
    """What an array holds instead of objects, in words ('numbers')."""
    return {bool: "true/false values", str: "strings", int: "numbers", float: "numbers", list: "arrays"}.get(
        type(value), "nulls"
    )


def _record(value: dict) -> dict[str, str]:
    """One JSON object as a row of strings (nested values as their JSON text, null as empty)."""
    import json

    return {
        str(k): "" if v is None else (v if isinstance(v, str) else json.dumps(v)) for k, v in value.items()
    }


def _records_table(path: Path, records: list[dict[str, str]], encoding: str, problems: list[str]) -> Table:
    """The rows of JSON objects as a table; objects without any key give no columns and are refused."""
    import pandas as pd

    if not any(records):
        raise DataError(f"{path.name} has only empty objects ({{}}), so no columns: {JSON_SHAPE}.")
    frame = pd.DataFrame.from_records(records).fillna("").astype(str)
    frame.columns = _clean_header([str(c) for c in frame.columns], problems)
    return Table(frame, path, encoding, "", problems)


def _read_jsonl(path: Path, text: str, encoding: str, state: TaskState) -> Table:
    import json

    records, bad = [], []
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            bad.append(n)
            continue
        if isinstance(value, dict):
            records.append(_record(value))
        else:
            bad.append(n)
        if n % _PROGRESS_ROWS == 0:
            state.raise_if_stopped()
            state.progress(0.5, f"Reading {path.name}: {len(records):,} rows")
    if not records and text.lstrip().startswith("["):  # a JSON array under a .jsonl name
        return _read_json(path, text, encoding, state)
    if not records:
        raise DataError(f"{path.name} has no JSON objects, one per line: {JSON_SHAPE}, or a CSV file.")
    problems = [f"{_count(len(bad), 'line')} not a JSON object skipped (first: line {bad[0]})"] if bad else []
    return _records_table(path, records, encoding, problems)


def _is_xlsx(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return "xl/workbook.xml" in z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _read_xlsx(path: Path, state: TaskState) -> Table:
    import pandas as pd

    state.progress(0.1, f"Reading workbook {path.name}")
    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=str, header=None, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise DataError(f"{path.name} cannot be read as an Excel workbook ({exc}); save it as CSV.") from exc
    frame = frame.fillna("")
    filled = frame.apply(lambda r: any(str(v).strip() for v in r), axis=1)
    if not filled.any():
        raise DataError(f"{path.name} is empty: its first sheet has no header and no rows.")
    first = int(filled.to_numpy().argmax())  # rows above the header are not data rows
    blank = int((~filled.iloc[first:]).sum())
    frame = frame.iloc[first:][filled.iloc[first:]]
    problems = [_blank_rows(blank)] if blank else []
    names = _clean_header([str(v) for v in frame.iloc[0].tolist()], problems)
    frame = frame.iloc[1:].reset_index(drop=True)
    frame.columns = names
    if frame.empty:
        problems.append("only a header row, no data rows")
    state.progress(1.0, f"Read {len(frame):,} rows from {path.name}")
    return Table(frame, path, "xlsx", "", problems)
