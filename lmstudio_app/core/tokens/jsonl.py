"""JSON Lines of tagged sentences: token lists with tags, or texts with character spans (doccano).

Accepted per line: {"tokens": [...], "tags"|"ner_tags"|"pos_tags": [...]} (tags as names, or as
integers with the tag names given separately), or {"text": ..., "spans"|"label"|"entities": [...]}
with spans as [start, end, label] or {"start"|"start_offset", "end"|"end_offset", "label"}, turned
into BIO tags over the text's words.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.tokens.data import TaggedData
from lmstudio_app.core.tokens.scheme import spans_to_bio

TAG_KEYS = ("tags", "ner_tags", "pos_tags", "labels")
SPAN_KEYS = ("spans", "label", "entities")


class _NeedsNames(DataError):
    """Integer tags without their names: said once for the file, not on every line."""


def read_jsonl(
    path: Path, text: str, tag_names: list[str] | None = None, keep_going: bool = False
) -> TaggedData:
    """Tagged sentences of a JSON Lines file; with `keep_going` a broken line is left out and its refusal
    noted in `errors` (see data.py)."""
    data = TaggedData([], [], path=str(path), format="")
    named_once = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = _row(path, number, line, data, tag_names)
        except _NeedsNames as exc:
            if not named_once:
                data.refuse(str(exc), keep_going)
                named_once = True
            continue
        except DataError as exc:
            data.refuse(str(exc), keep_going)
            continue
        if row is not None:
            data.sentences.append(row[0])
            data.tags.append(row[1])
            data.lines.append(number)
    return data


def _row(
    path: Path, number: int, line: str, data: TaggedData, tag_names: list[str] | None
) -> tuple[list[str], list[str]] | None:
    """One line's words and tags (None for a text without words); its layout is checked against the file's."""
    where = f"{path.name} line {number}"
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise DataError(f"{where}: not valid JSON ({exc.msg}); one JSON object per line.") from exc
    if not isinstance(row, dict):
        raise DataError(f"{where}: not a JSON object; each line needs tokens and tags, or text and spans.")
    if "tokens" in row:
        kind = "jsonl-tokens"
    elif "text" in row:
        kind = "jsonl-spans"
    else:
        raise DataError(f'{where}: no "tokens" and no "text" (its keys: {", ".join(row)[:80]}).')
    if data.format and data.format != kind:
        raise DataError(f"{where}: mixes token lists and texts with spans; use one layout per file.")
    data.format = kind
    if kind == "jsonl-tokens":
        words, tags = _token_row(row, where, tag_names, data)
    else:
        words, tags, notes = _span_row(row, where)
        data.problems += [f"line {number}: {note}" for note in notes]
    return (words, tags) if words else None


def _token_row(
    row: dict, where: str, tag_names: list[str] | None, data: TaggedData
) -> tuple[list[str], list[str]]:
    tokens = row["tokens"]
    key = next((k for k in TAG_KEYS if k in row), None)
    if key is None:
        raise DataError(f"{where}: tokens without tags (no {', '.join(repr(k) for k in TAG_KEYS)}).")
    tags = row[key]
    if not isinstance(tokens, list) or not isinstance(tags, list):
        raise DataError(f'{where}: "tokens" and {key!r} must be lists.')
    if len(tokens) != len(tags):
        raise DataError(f"{where}: {len(tokens)} tokens but {len(tags)} tags; give one tag per token.")
    if any(isinstance(t, bool) or not isinstance(t, str | int) for t in tags):
        raise DataError(f"{where}: tags must be names or whole numbers.")
    numbers = [t for t in tags if isinstance(t, int)]
    if numbers:
        data.integer_tags = max(data.integer_tags, max(numbers) + 1)
        tags = _named(tags, where, tag_names)
    return [str(t) for t in tokens], [str(t) for t in tags]


def _named(tags: list[Any], where: str, tag_names: list[str] | None) -> list[str]:
    """Integer tags as their names (the data set's tag list, e.g. CoNLL-2003's O, B-PER, I-PER, ...)."""
    if not tag_names:
        raise _NeedsNames(
            f"{where}: the tags are numbers; give the tag names in order (--tag-names O,B-PER,...)."
        )
    named = []
    for t in tags:
        if isinstance(t, int) and not 0 <= t < len(tag_names):
            raise DataError(
                f"{where}: tag {t} has no name (the {len(tag_names)} names cover 0-{len(tag_names) - 1})."
            )
        named.append(tag_names[t] if isinstance(t, int) else t)
    return named


def _span_row(row: dict, where: str) -> tuple[list[str], list[str], list[str]]:
    text = row["text"]
    if not isinstance(text, str):
        raise DataError(f'{where}: "text" must be a string.')
    key = next((k for k in SPAN_KEYS if k in row), None)
    raw = row[key] if key else []
    if not isinstance(raw, list):
        raise DataError(f"{where}: {key!r} must be a list of [start, end, label] spans.")
    spans = [_span(s, where, len(text)) for s in raw]
    return spans_to_bio(text, spans)


def _span(span: Any, where: str, length: int) -> tuple[int, int, str]:
    if isinstance(span, dict):
        start = span.get("start", span.get("start_offset"))
        end = span.get("end", span.get("end_offset"))
        label = span.get("label")
    elif isinstance(span, list) and len(span) == 3:
        start, end, label = span
    else:
        raise DataError(f"{where}: span {json.dumps(span)[:60]} is not [start, end, label].")
    if not (isinstance(start, int) and isinstance(end, int) and isinstance(label, str) and label.strip()):
        raise DataError(f"{where}: span {json.dumps(span)[:60]} needs whole-number offsets and a label.")
    if not 0 <= start < end <= length:
        raise DataError(f"{where}: span {start}-{end} is outside the text ({length} characters).")
    return start, end, label.strip()
