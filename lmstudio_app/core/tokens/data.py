"""Tagged sentences (words with one tag each): what the readers return, split by sentence and counted.

Readers refuse what cannot be trained on (a ragged line, tokens without tags) with a one-line DataError
that names the file and line; what they fix or leave out is listed in `problems`. Asked to `keep_going`
(the wizard's Data page, which lists every broken line at once), they leave the broken sentences out and
collect those refusals in `errors` instead: data with errors is shown, never trained on.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from lmstudio_app.core.data.table import DataError

MAX_ERRORS = 200  # refusals kept for display; error_count counts them all


@dataclass
class TaggedData:
    """Sentences as word lists with one tag per word; `lines` says where each sentence starts."""

    sentences: list[list[str]]
    tags: list[list[str]]
    lines: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    path: str = ""
    format: str = ""  # conll | jsonl-tokens | jsonl-spans
    errors: list[str] = field(default_factory=list)  # refusals collected with keep_going (capped)
    error_count: int = 0  # every refusal, also those past the cap
    integer_tags: int = 0  # JSONL tags given as numbers: how many names they need (the largest + 1)

    def refuse(self, message: str, keep_going: bool) -> None:
        """Raise `message` as a DataError, or with `keep_going` note it (the caller leaves the sentence out)."""
        if not keep_going:
            raise DataError(message)
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    def __len__(self) -> int:
        return len(self.sentences)

    def tag_counts(self) -> Counter[str]:
        return Counter(t for row in self.tags for t in row)

    def words(self) -> int:
        return sum(len(s) for s in self.sentences)

    def subset(self, indices: list[int]) -> TaggedData:
        pick = [self.sentences[i] for i in indices], [self.tags[i] for i in indices]
        lines = [self.lines[i] for i in indices] if self.lines else []
        return TaggedData(pick[0], pick[1], lines, [], self.path, self.format)


def read_file_text(path: Path) -> str:
    """The file as text (UTF-8, a BOM dropped); a missing, binary or undecodable file is one clear line."""
    if not path.is_file():
        raise DataError(f"File not found: {path}. Check the path.")
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise DataError(f"{path.name} holds binary data, not text: give a CoNLL or JSONL file.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path.name} line {line}: not UTF-8 text; save the file as UTF-8.") from exc
    if not text.strip():
        raise DataError(f"{path.name} is empty: it has no sentences.")
    return text


def split_sentences(data: TaggedData, val_fraction: float, seed: int) -> tuple[TaggedData, TaggedData]:
    """A seeded random split by sentence (at least one sentence on each side when there are two)."""
    order = list(range(len(data)))
    random.Random(seed).shuffle(order)
    n_val = min(len(order) - 1, max(1, round(len(order) * val_fraction))) if len(order) > 1 else 0
    return data.subset(sorted(order[n_val:])), data.subset(sorted(order[:n_val]))
