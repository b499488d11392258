"""Label cells that hold several labels: a separator ("animal;colour") or a JSON list (["animal", "colour"]).

Pure text handling (no model, no table): reading one cell, noticing what was tidied in a whole column,
guessing the separator a column uses, and writing a row's labels back in the same form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lmstudio_app.core.data.table import DataError, _s

JSON_LISTS = ""  # the separator of a column whose cells are JSON lists
JSON_NAME = "json"  # what a command line or a settings file calls JSON_LISTS
SEPARATORS = (";", "|", ",", "/")  # the common ones, in the order a tie is settled
_MIN_SHARE = 0.05  # a separator must appear in at least this share of the non-empty cells to be guessed


def _json_list(cell: str) -> list[str] | None:
    """The labels of a cell written as a JSON list of strings (or numbers), else None."""
    if not (cell.startswith("[") and cell.endswith("]")):
        return None
    try:
        value = json.loads(cell)
    except ValueError:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        return None
    return [v if isinstance(v, str) else json.dumps(v) for v in value]


def parse_cell(cell: str, separator: str) -> list[str]:
    """The labels written in one cell, as written (not yet trimmed or de-duplicated). A JSON list is read as
    one whatever the separator; with JSON_LISTS, any other non-empty cell is a single label."""
    text = cell.strip()
    if not text:
        return []
    listed = _json_list(text)
    if listed is not None:
        return listed
    if separator == JSON_LISTS:
        if text.startswith("["):
            raise DataError(
                f"The label cell {text[:60]!r} is not a JSON list of strings: write it as "
                '["label", "other label"], or pick the separator its labels are joined with.'
            )
        return [text]
    return text.split(separator)


@dataclass
class CellNotes:
    """What tidying a column's cells did, counted so that it can be said in one line each."""

    no_labels: int = 0  # rows whose cell holds no label at all (kept: every label is "no" for them)
    duplicates: int = 0  # a label written twice in one cell (kept once)
    trimmed: int = 0  # labels with spaces around them (trimmed)
    empty_parts: int = 0  # nothing between two separators, e.g. "a;;b" (ignored)

    def warnings(self) -> list[str]:
        out = []
        if self.no_labels:
            out.append(
                f"{self.no_labels} row{_s(self.no_labels)} with no label kept: they teach that none applies"
            )
        if self.duplicates:
            out.append(f"{self.duplicates} label{_s(self.duplicates)} repeated within a cell counted once")
        if self.trimmed:
            out.append(f"spaces around {self.trimmed} label{_s(self.trimmed)} trimmed")
        if self.empty_parts:
            out.append(f"{self.empty_parts} empty label{_s(self.empty_parts)} between separators ignored")
        return out


def read_cells(cells: list[str], separator: str) -> tuple[list[list[str]], CellNotes]:
    """Each cell's labels, trimmed, without empty parts and repeats (first occurrence order), and what was
    tidied."""
    notes = CellNotes()
    rows: list[list[str]] = []
    for cell in cells:
        labels: list[str] = []
        for part in parse_cell(cell, separator):
            label = part.strip()
            if not label:
                notes.empty_parts += 1
                continue
            notes.trimmed += label != part
            if label in labels:
                notes.duplicates += 1
            else:
                labels.append(label)
        notes.no_labels += not labels
        rows.append(labels)
    return rows, notes


def detect_separator(cells: list[str]) -> str | None:
    """How a column writes several labels: JSON_LISTS, one of SEPARATORS, or None when its cells look like
    one label each. A separator must split a fair share of the cells into labels that recur."""
    filled = [c.strip() for c in cells if c.strip()]
    if not filled:
        return None
    if sum(_json_list(c) is not None for c in filled) >= len(filled) / 2:
        return JSON_LISTS
    best, best_count = None, 0
    for sep in SEPARATORS:
        count = sum(sep in c for c in filled)
        if count > best_count and count >= _MIN_SHARE * len(filled):
            parts = [p.strip() for c in filled for p in c.split(sep) if p.strip()]
            if len(set(parts)) < len(parts):  # labels recur: "a;b", "a" (not "New York, NY" alone)
                best, best_count = sep, count
    return best


def join_labels(labels: list[str], separator: str) -> str:
    """A row's labels written the way its column wrote them (a JSON list for JSON_LISTS)."""
    return json.dumps(labels, ensure_ascii=False) if separator == JSON_LISTS else separator.join(labels)


def separator_named(name: str) -> str:
    """The separator a user typed: JSON_NAME means JSON lists."""
    return JSON_LISTS if name.strip().lower() == JSON_NAME else name


def describe_separator(separator: str) -> str:
    return "JSON lists" if separator == JSON_LISTS else f"{separator!r}"
