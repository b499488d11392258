"""The text a pre-training run learns from: text files, folders of them, or a table column.

Files are decoded with the table reader's encoding detection (so a UTF-16 or cp1252 export reads the
same way as in fine-tuning, and a binary file is refused in one line). In a folder, what is text is decided
by content, not by name (README, LICENSE and man pages have no extension): binary files are skipped and
counted, and hidden files and folders (.git, .DS_Store) are left out. Exact duplicate lines are
removed, and a seeded 2-5 % of the lines, in short runs of consecutive lines (so that held-out text
still has next sentences), is held out for evaluation and never trained on.
"""

from __future__ import annotations

import codecs
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lmstudio_app.core.data.table import DataError, detect_encoding, read_table
from lmstudio_app.core.tasks import TaskState, ensure_state

HELD_OUT_RUN = 4  # lines held out together, so held-out text keeps consecutive sentences for NSP
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
_OVERSTRIKE = re.compile(r"[^\n]\x08")  # 'N\bN' (bold) and '_\bN' (underline) in man pages printed raw
_SNIFF_BYTES = 8192  # enough to tell text from binary, as git does
_SHOWN_NAMES = 5
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass
class TextSource:
    """Where the text comes from; saved in settings.json so that a resumed run reads it again."""

    paths: list[str] = field(default_factory=list)  # text files or folders of them
    table: str = ""  # or a table file ...
    column: str = ""  # ... and its text column
    encoding: str = ""  # "" = detected

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TextSource:
        return cls(
            paths=[str(p) for p in d.get("paths") or []],
            table=str(d.get("table") or ""),
            column=str(d.get("column") or ""),
            encoding=str(d.get("encoding") or ""),
        )

    def describe(self) -> str:
        if self.table:
            return f"column {self.column!r} of {Path(self.table).name}"
        names = [Path(p).name for p in self.paths]
        return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


@dataclass
class Corpus:
    """Documents as lists of lines, split into training and held-out parts, with the counts shown."""

    train: list[list[str]]
    held_out: list[list[str]]
    documents: int
    lines: int
    sentences: int
    duplicates: int
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files in the folders that are not text

    @property
    def held_out_lines(self) -> int:
        return sum(len(d) for d in self.held_out)

    def summary(self) -> str:
        return (
            f"{self.documents:,} document{'s' * (self.documents != 1)}, {self.lines:,} lines, "
            f"{self.sentences:,} sentences; {self.duplicates:,} duplicate line"
            f"{'s' * (self.duplicates != 1)} removed; {self.held_out_lines:,} lines held out for evaluation"
            + (f"; {_skipped(self.skipped)}" if self.skipped else "")
        )


def _skipped(names: list[str]) -> str:
    """'2 files skipped as not text: logo.png, blob.bin'."""
    return f"{len(names):,} file{'s' * (len(names) != 1)} skipped as not text: {_first_names(names)}"


def _first_names(names: list[str]) -> str:
    return ", ".join(names[:_SHOWN_NAMES]) + (", …" if len(names) > _SHOWN_NAMES else "")


def split_sentences(line: str) -> list[str]:
    """Sentences of one line: a cut after . ! ? followed by a capital or a digit (good enough for packing)."""
    return [s for s in (part.strip() for part in _SENTENCE_END.split(line)) if s]


@dataclass
class TextFiles:
    """The files to read, and the folder files skipped as not text (as shown: their path in the folder)."""

    files: list[tuple[Path, str]] = field(default_factory=list)  # (file, shown name; "" if named, not found)
    skipped: list[str] = field(default_factory=list)


def text_files(paths: list[str]) -> TextFiles:
    """The files named, and the text files inside the folders named (sorted, so runs repeat)."""
    found = TextFiles()
    for spec in paths:
        path = Path(spec).expanduser()
        if not path.exists():
            raise DataError(f"Not found: {spec}. Check the path.")
        if not path.is_dir():
            found.files.append((path, ""))
            continue
        inside = {
            p.relative_to(path).as_posix(): p
            for p in sorted(path.rglob("*"))
            if p.is_file() and not _hidden(p.relative_to(path).parts)
        }
        text = {name: p for name, p in inside.items() if _looks_like_text(p)}
        binary = [name for name in inside if name not in text]
        if not text:
            what = (
                f"{len(binary):,} file{'s' * (len(binary) != 1)}, none of them text ({_first_names(binary)})"
            )
            raise DataError(
                f"{spec} has no text files: {what if binary else 'no files (hidden ones are left out)'}."
            )
        found.files.extend((p, name) for name, p in text.items())
        found.skipped.extend(binary)
    return found


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") for part in parts)


def _looks_like_text(path: Path) -> bool:
    """Text by content, from the first bytes only: a detectable encoding, no NUL or other control bytes."""
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
        encoding = detect_encoding(head, path.name)
        text = codecs.getincrementaldecoder(encoding)().decode(head)  # a character cut at the end is fine
    except (OSError, DataError, UnicodeDecodeError):
        return False
    return not _binary(text)


def _binary(text: str) -> bool:
    """Control characters (NUL, ...) beyond a stray few: more than 8, or more than 1 in 100 characters."""
    sample = _OVERSTRIKE.sub("", text[:65536])
    return len(_CONTROL.findall(sample)) > min(8, len(sample) // 100)


def read_text_file(path: Path, encoding: str = "") -> str:
    """One text file decoded (encoding detected unless given); binary or undecodable files are refused."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    enc = encoding or detect_encoding(raw, path.name)
    try:
        text = raw.decode(enc).removeprefix("\ufeff")
    except (UnicodeDecodeError, LookupError) as exc:
        raise DataError(
            f"{path.name} cannot be decoded as {enc}: give another encoding (e.g. utf-8, cp1252)."
        ) from exc
    if _binary(text):
        raise DataError(f"{path.name} is not text (it contains binary data): give text files.")
    return _OVERSTRIKE.sub("", text) if "\x08" in text else text


def _lines(text: str) -> list[str]:
    return [
        line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()
    ]


def read_documents(
    source: TextSource, state: TaskState | None = None
) -> tuple[list[list[str]], list[str], list[str]]:
    """(documents as lists of non-empty lines, problems noticed, files skipped as not text); a table's every
    cell is one document."""
    state = ensure_state(state)
    problems: list[str] = []
    if source.table:
        table = read_table(source.table, encoding=source.encoding or None, state=state)
        problems.extend(table.problems)
        if source.column not in table.columns:
            raise DataError(
                f"{Path(source.table).name} has no column {source.column!r}; its columns: "
                f"{', '.join(table.columns[:10])}."
            )
        docs = [_lines(str(cell)) for cell in table.frame[source.column]]
        empty = sum(1 for d in docs if not d)
        if empty:
            problems.append(f"{empty:,} empty cell{'s' * (empty != 1)} skipped")
        return [d for d in docs if d], problems, []
    if not source.paths:
        raise DataError("No text given: choose text files, a folder of them, or a table column.")
    docs = []
    found = text_files(source.paths)
    for i, (path, shown) in enumerate(found.files):
        state.raise_if_stopped()
        state.progress(i / max(1, len(found.files)), f"Reading {path.name}")
        try:
            lines = _lines(read_text_file(path, source.encoding))
        except DataError:
            if not shown:
                raise
            found.skipped.append(shown)  # binary past its first bytes
            continue
        if lines:
            docs.append(lines)
        else:
            problems.append(f"{path.name} is empty: skipped")
    return docs, problems, found.skipped


def build_corpus(
    source: TextSource, held_out_fraction: float = 0.03, seed: int = 42, state: TaskState | None = None
) -> Corpus:
    """Read, remove exact duplicate lines, and hold out a seeded fraction of the lines (runs of lines)."""
    docs, problems, skipped = read_documents(source, state)
    seen: set[str] = set()
    duplicates = 0
    unique_docs = []
    for doc in docs:
        kept = []
        for line in doc:
            if line in seen:
                duplicates += 1
            else:
                seen.add(line)
                kept.append(line)
        if kept:
            unique_docs.append(kept)
    lines = sum(len(d) for d in unique_docs)
    if lines < 2:
        raise DataError(
            f"{source.describe() or 'The text'} has {'no text' if not lines else 'only one line'}: "
            "pre-training needs at least a few lines of text."
        )
    train, held_out = _hold_out(unique_docs, held_out_fraction, seed)
    sentences = sum(len(split_sentences(line)) for doc in unique_docs for line in doc)
    return Corpus(train, held_out, len(docs), lines, sentences, duplicates, problems, skipped)


def _hold_out(docs: list[list[str]], fraction: float, seed: int) -> tuple[list[list[str]], list[list[str]]]:
    """Runs of HELD_OUT_RUN lines, chosen with `seed`, until `fraction` of the lines (at least one run)."""
    runs = [(d, start) for d, doc in enumerate(docs) for start in range(0, len(doc), HELD_OUT_RUN)]
    random.Random(seed).shuffle(runs)
    total = sum(len(doc) for doc in docs)
    target, taken = max(1, round(fraction * total)), 0
    chosen: set[tuple[int, int]] = set()
    for d, start in runs:
        if taken >= target:
            break
        size = len(docs[d][start : start + HELD_OUT_RUN])
        if total - taken - size < 1:
            continue
        chosen.add((d, start))
        taken += size
    train: list[list[str]] = []
    held_out: list[list[str]] = []
    for d, doc in enumerate(docs):
        current: list[str] = []  # a held-out run cuts a document in two: no text is packed across the gap
        for start in range(0, len(doc), HELD_OUT_RUN):
            part = doc[start : start + HELD_OUT_RUN]
            if (d, start) in chosen:
                held_out.append(part)
                if current:
                    train.append(current)
                current = []
            else:
                current.extend(part)
        if current:
            train.append(current)
    return train, held_out
