"""Question-answering data from SQuAD JSON (v1.1/v2.0), SQuAD-layout JSON Lines, or a table.

Every answer is checked against its context when it is read: its character offset is found when the file
gives none (the first occurrence) and repaired when it points elsewhere (the nearest occurrence), and an
answer that is not in its context at all is refused with the row that holds it, so that no training
window is ever built on a wrong span. Asked to `keep_going` (the wizard's Data page, which lists every
broken question at once), a reader leaves broken questions out and collects their refusals in `errors`:
data with errors is shown, never trained on.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmstudio_app.core.data.table import DataError, read_table
from lmstudio_app.core.tasks import TaskState, ensure_state

SQUAD_SHAPE = (
    'SQuAD JSON ({"data": [{"paragraphs": [{"context", "qas": [{"id", "question", "answers"}]}]}]}), '
    'JSON Lines ({"id", "question", "context", "answers": {"text": [...], "answer_start": [...]}} a line) '
    "or a table with question, context and answer columns"
)
MAX_ERRORS = 200  # refusals kept for display with keep_going; error_count counts them all


@dataclass(frozen=True)
class Answer:
    text: str
    start: int  # a character offset into the context: context[start:end] == text

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass
class QAExample:
    id: str
    question: str
    context: str
    answers: list[Answer] | None  # None: the file gives no answers; []: unanswerable (SQuAD v2.0)
    where: str = ""  # "line 3", "row 4", ... for messages


@dataclass
class QAData:
    examples: list[QAExample]
    path: Path
    problems: list[str] = field(default_factory=list)  # what was repaired, in plain words
    errors: list[str] = field(default_factory=list)  # questions refused (and left out) with keep_going
    error_count: int = 0

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def has_answers(self) -> bool:
        return bool(self.examples) and all(e.answers is not None for e in self.examples)

    @property
    def unanswerable(self) -> int:
        return sum(1 for e in self.examples if e.answers == [])


@dataclass
class Columns:
    """The table columns that hold each part (tables only; JSON uses SQuAD's names)."""

    question: str = "question"
    context: str = "context"
    answer: str = "answer"
    answer_start: str = "answer_start"
    id: str = "id"


class _Reader:
    """Builds examples from one file, counting the answer offsets it repaired."""

    def __init__(self, path: Path, keep_going: bool = False) -> None:
        self.path, self.repaired, self.examples = path, 0, []
        self.keep_going, self.errors, self.error_count = keep_going, [], 0

    @contextlib.contextmanager
    def item(self) -> Iterator[None]:
        """One question (or paragraph): its refusal is raised, or with keep_going noted and the item left out."""
        try:
            yield
        except DataError as exc:
            if not self.keep_going:
                raise
            self.error_count += 1
            if len(self.errors) < MAX_ERRORS:
                self.errors.append(str(exc))

    def fail(self, where: str, message: str) -> DataError:
        return DataError(f"{self.path.name}, {where}: {message}")

    def text(self, value: Any, where: str, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(
                where, f"the {what} is missing or empty; every question needs a question and a context"
            )
        return value

    def locate(self, text: str, start: int | None, context: str, where: str) -> Answer:
        """The answer at `start` when it is there, else its nearest (or, without a start, first) occurrence."""
        if not text.strip():
            raise self.fail(where, "an answer is empty; leave the answers out for an unanswerable question")
        if start is not None and context[start : start + len(text)] == text:
            return Answer(text, start)
        needle = text if text in context else text.strip()
        found = _occurrences(context, needle)
        if not found:
            shown = text if len(text) <= 60 else text[:57] + "..."
            raise self.fail(
                where, f"the answer {shown!r} is not in its context; correct the answer or the context"
            )
        if start is not None:
            self.repaired += 1
        best = min(found, key=lambda s: abs(s - start)) if start is not None else found[0]
        return Answer(needle, best)

    def add(self, raw: dict, where: str, context: str | None = None) -> None:
        """One question from a SQuAD-layout object (context from the object unless given)."""
        question = self.text(raw.get("question"), where, "question")
        context = self.text(raw.get("context") if context is None else context, where, "context")
        ident = str(raw.get("id") or "").strip() or where
        self.examples.append(QAExample(ident, question, context, self.answers(raw, context, where), where))

    def answers(self, raw: dict, context: str, where: str) -> list[Answer] | None:
        if raw.get("is_impossible") is True:
            return []
        value = raw.get("answers", raw.get("answer"))
        if value is None:
            return None
        if isinstance(value, str):  # a flat record: "answer" (and "answer_start")
            return (
                [self.locate(value, _offset(raw.get("answer_start"), self, where), context, where)]
                if value
                else []
            )
        if isinstance(value, dict):  # Hugging Face datasets: {"text": [...], "answer_start": [...]}
            texts, starts = value.get("text") or [], value.get("answer_start")
            if not isinstance(texts, list) or (starts is not None and not isinstance(starts, list)):
                raise self.fail(where, '"answers" must hold lists: {"text": [...], "answer_start": [...]}')
            if starts is not None and starts and len(starts) != len(texts):
                raise self.fail(where, f"{len(texts)} answer texts but {len(starts)} answer_start values")
            pairs = zip(texts, starts if starts else [None] * len(texts), strict=True)
        elif isinstance(value, list):  # SQuAD JSON: [{"text", "answer_start"}, ...]
            if not all(isinstance(a, dict) for a in value):
                raise self.fail(where, '"answers" must be a list of {"text", "answer_start"} objects')
            pairs = ((a.get("text"), a.get("answer_start")) for a in value)
        else:
            raise self.fail(where, f'"answers" is {type(value).__name__}, not a list or an object')
        out = []
        for text, start in pairs:
            if not isinstance(text, str):
                raise self.fail(where, "an answer's text is not a string")
            out.append(self.locate(text, _offset(start, self, where), context, where))
        return out

    def done(self, extra: list[str] | None = None) -> QAData:
        if not self.examples and not self.errors:
            raise DataError(f"{self.path.name} holds no questions: give {SQUAD_SHAPE}.")
        problems = list(extra or [])
        if self.repaired:
            problems.append(
                f"{self.repaired} answer_start value(s) did not point at their answer; the nearest occurrence was used"
            )
        return QAData(self.examples, self.path, problems, self.errors, self.error_count)


def _occurrences(context: str, text: str) -> list[int]:
    found, at = [], context.find(text) if text else -1
    while at >= 0:
        found.append(at)
        at = context.find(text, at + 1)
    return found


def _offset(value: Any, reader: _Reader, where: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        start = int(str(value).strip())
    except ValueError:
        raise reader.fail(where, f"answer_start {value!r} is not a whole number") from None
    if start < 0:
        raise reader.fail(where, f"answer_start {start} is negative")
    return start


def read_qa(
    path: str | Path,
    columns: Columns | None = None,
    state: TaskState | None = None,
    *,
    keep_going: bool = False,
) -> QAData:
    """Read questions with their contexts (and answers, when the file has them) from any supported file;
    with `keep_going`, broken questions are left out and listed in `errors` instead of refused at the first."""
    state = ensure_state(state)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonl", ".ndjson") and path.is_file():
        state.progress(0.0, f"Reading {path.name}")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"Cannot read {path} as UTF-8 JSON: {exc}.") from exc
        if not text.strip():
            raise DataError(f"{path.name} is empty: give {SQUAD_SHAPE}.")
        reader = _Reader(path, keep_going)
        return _read_json(reader, text) if suffix == ".json" else _read_lines(reader, text)
    return _read_table(path, columns or Columns(), state, _Reader(path, keep_going))


def _read_json(reader: _Reader, text: str) -> QAData:
    path = reader.path
    try:
        value = json.loads(text)
    except ValueError as exc:
        if text.lstrip().startswith("{"):
            return _read_lines(reader, text)
        raise DataError(
            f"{path.name} is not valid JSON ({exc.msg}, line {exc.lineno}): give {SQUAD_SHAPE}."
        ) from exc
    if isinstance(value, list):
        for n, item in enumerate(value, start=1):
            with reader.item():
                if not isinstance(item, dict):
                    raise reader.fail(f"item {n}", "is not a JSON object")
                reader.add(item, f"item {n}")
        return reader.done()
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise DataError(f'{path.name} has no "data" list of articles: give {SQUAD_SHAPE}.')
    for a, article in enumerate(value["data"], start=1):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise reader.fail(f"article {a}", 'has no "paragraphs" list')
        for p, paragraph in enumerate(paragraphs, start=1):
            where = f"article {a}, paragraph {p}"
            with reader.item():
                if not isinstance(paragraph, dict) or not isinstance(paragraph.get("qas"), list):
                    raise reader.fail(where, 'has no "qas" list of questions')
                context = reader.text(paragraph.get("context"), where, "context")
                for q, qa in enumerate(paragraph["qas"], start=1):
                    with reader.item():
                        if not isinstance(qa, dict):
                            raise reader.fail(f"{where}, question {q}", "is not a JSON object")
                        reader.add(qa, f"{where}, question {q}", context)
    return reader.done()


def _read_lines(reader: _Reader, text: str) -> QAData:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        with reader.item():
            try:
                item = json.loads(line)
            except ValueError:
                raise reader.fail(f"line {n}", "is not valid JSON (one object per line)") from None
            if not isinstance(item, dict):
                raise reader.fail(f"line {n}", "is not a JSON object")
            reader.add(item, f"line {n}")
    return reader.done()


def _read_table(path: Path, columns: Columns, state: TaskState, reader: _Reader) -> QAData:
    table = read_table(path, state=state)
    missing = [c for c in (columns.question, columns.context) if c not in table.columns]
    if missing:
        raise DataError(
            f"{path.name} has no column {missing[0]!r}; its columns are: {', '.join(table.columns)}. "
            "A question-answering table needs question, context and answer columns."
        )
    has = {c: c in table.columns for c in (columns.answer, columns.answer_start, columns.id)}
    for n, row in enumerate(table.frame.to_dict("records"), start=1):
        raw = {"question": row[columns.question], "context": row[columns.context]}
        if has[columns.id]:
            raw["id"] = row[columns.id]
        if has[columns.answer]:
            raw["answer"] = row[columns.answer]
            if has[columns.answer_start]:
                raw["answer_start"] = row[columns.answer_start]
        with reader.item():
            reader.add(raw, f"row {n}")
    return reader.done(list(table.problems))


def split_by_context(data: QAData, val_fraction: float, seed: int) -> tuple[list[QAExample], list[QAExample]]:
    """(train, validation), every question of one context on the same side (no passage seen in both);
    with a single context, the questions themselves are split."""
    contexts = list(dict.fromkeys(e.context for e in data.examples))
    rng = random.Random(seed)
    if len(contexts) >= 2:
        rng.shuffle(contexts)
        n_val = min(len(contexts) - 1, max(1, round(len(contexts) * val_fraction)))
        held = set(contexts[:n_val])
        train = [e for e in data.examples if e.context not in held]
        val = [e for e in data.examples if e.context in held]
    else:
        order = list(range(len(data.examples)))
        rng.shuffle(order)
        n_val = min(len(order) - 1, max(1, round(len(order) * val_fraction)))
        held_rows = set(order[:n_val])
        train = [e for i, e in enumerate(data.examples) if i not in held_rows]
        val = [e for i, e in enumerate(data.examples) if i in held_rows]
    if not train or not val:
        raise DataError(
            f"{data.path.name} has {len(data)} question(s): too few to hold some out for validation; add more."
        )
    return train, val
