"""Tag schemes (BIO/IOB2, BIOES): which one a tag set follows, entities from tags, and spans to BIO.

Entities are decoded leniently, like conlleval: an I- (or E-) tag after an O or after another type
starts a new entity, so a model's imperfect output still gives whole spans.
"""

from __future__ import annotations

from collections.abc import Iterable

from lmstudio_app.core.models.word_input import words_of


def entity_scheme(tags: Iterable[str]) -> str | None:
    """ "BIOES" or "IOB2" when every tag is O or a B-/I-(/E-/S-) prefix plus a type, else None (e.g. POS)."""
    prefixes: set[str] = set()
    for tag in set(tags):
        if tag == "O":
            continue
        prefix, dash, kind = tag.partition("-")
        if not dash or not kind or prefix not in ("B", "I", "E", "S"):
            return None
        prefixes.add(prefix)
    if not prefixes or ("B" not in prefixes and "S" not in prefixes):
        return None
    return "BIOES" if prefixes & {"E", "S"} else "IOB2"


def entities(tags: list[str]) -> list[tuple[str, int, int]]:
    """(type, first word, last word + 1) of each entity in a sequence of BIO/BIOES tags."""
    found: list[tuple[str, int, int]] = []
    kind, start = None, 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, name = tag.partition("-")
        continues = kind is not None and name == kind and prefix in ("I", "E")
        if kind is not None and not continues:
            found.append((kind, start, i))
            kind = None
        if tag != "O" and not continues:
            kind, start = (name or None), i
        if kind is not None and prefix in ("E", "S"):
            found.append((kind, start, i + 1))
            kind = None
    return found


def spans_to_bio(text: str, spans: list[tuple[int, int, str]]) -> tuple[list[str], list[str], list[str]]:
    """(words, BIO tags, notes): each span tags the words it touches, B- first and I- after; a span
    that overlaps an earlier one or covers no word is left out and noted."""
    words = words_of(text)
    tags = ["O"] * len(words)
    notes = []
    for start, end, label in sorted(spans):
        covered = [i for i, (_, s, e) in enumerate(words) if s < end and e > start]
        shown = text[start:end]
        if not covered:
            notes.append(f"span {start}-{end} {label} ({shown!r}) covers no word: left out")
        elif any(tags[i] != "O" for i in covered):
            notes.append(f"span {start}-{end} {label} ({shown!r}) overlaps another span: left out")
        else:
            for n, i in enumerate(covered):
                tags[i] = ("B-" if n == 0 else "I-") + label
            if words[covered[0]][1] != start or words[covered[-1]][2] != end:
                notes.append(f"span {start}-{end} {label} ({shown!r}) cuts a word: the whole word is tagged")
    return [w for w, _, _ in words], tags, notes
