"""CoNLL-style files: one token per line, its tag in the last column, a blank line between sentences.

Columns are split on tabs when the line has one, else on runs of spaces (CoNLL-2003's layout); every
line of a file must have as many columns as its first token line, so a shifted column is refused with
its line number instead of training on the wrong tags. `-DOCSTART-` lines are document markers.
"""

from __future__ import annotations

from pathlib import Path

from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.jsonio import write_text
from lmstudio_app.core.tokens.data import TaggedData, read_file_text

DOCSTART = "-DOCSTART-"


def _columns(line: str) -> list[str]:
    return [c.strip() for c in line.split("\t")] if "\t" in line else line.split()


def _sentences(text: str) -> list[list[tuple[int, list[str]]]]:
    """Sentences as lists of (line number, columns); document markers left out."""
    sentences: list[list[tuple[int, list[str]]]] = []
    current: list[tuple[int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        columns = _columns(line)
        if not columns or not any(columns):
            if current:
                sentences.append(current)
                current = []
        elif columns[0] != DOCSTART:
            current.append((number, columns))
    if current:
        sentences.append(current)
    return sentences


def read_conll(path: Path, text: str, keep_going: bool = False) -> TaggedData:
    """Every sentence with its tags (the first column is the word, the last the tag); with `keep_going`
    a sentence with a broken line is left out and the refusal noted in `errors` (see data.py)."""
    sentences = _sentences(text)
    if not sentences:
        raise DataError(f"{path.name} has no token lines (only blank or {DOCSTART} lines).")
    width = len(sentences[0][0][1])
    first = sentences[0][0][0]
    if width < 2:
        raise DataError(
            f"{path.name} line {first}: a token without a tag; each line needs the token and its tag "
            "(tab or space separated)."
        )
    data = TaggedData([], [], path=str(path), format="conll")
    for sentence in sentences:
        broken = False
        for number, columns in sentence:
            if len(columns) != width:
                what = "a token without a tag" if len(columns) == 1 else f"{len(columns)} columns"
                data.refuse(
                    f"{path.name} line {number}: {what} where line {first} has {width} columns "
                    f"({' | '.join(columns)[:60]}).",
                    keep_going,
                )
                broken = True
            elif not columns[-1] or not columns[0]:
                data.refuse(f"{path.name} line {number}: an empty token or tag.", keep_going)
                broken = True
        if broken:
            continue
        data.sentences.append([c[0] for _, c in sentence])
        data.tags.append([c[-1] for _, c in sentence])
        data.lines.append(sentence[0][0])
    return data


def read_conll_words(path: Path | str) -> list[list[str]]:
    """The words of a CoNLL file to tag: the first column of each line, extra columns ignored."""
    path = Path(path)
    sentences = _sentences(read_file_text(path))
    if not sentences:
        raise DataError(f"{path.name} has no token lines (only blank or {DOCSTART} lines).")
    return [[columns[0] for _, columns in sentence] for sentence in sentences]


def write_conll(path: Path | str, sentences: list[list[str]], tags: list[list[str]]) -> None:
    """token<TAB>tag lines, a blank line after each sentence; written atomically."""
    blocks = (
        "".join(f"{w}\t{t}\n" for w, t in zip(words, row, strict=True)) + "\n"
        for words, row in zip(sentences, tags, strict=True)
    )
    write_text(Path(path), "".join(blocks))
