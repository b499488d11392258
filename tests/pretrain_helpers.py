"""Generated corpora for the pre-training tests: a strong regularity a tiny model can learn in seconds."""

from __future__ import annotations

import random
from pathlib import Path

# Each subject always goes with one place: the place is predictable from the subject, nothing else is.
PAIRS = [
    ("cat", "mat"),
    ("dog", "floor"),
    ("man", "car"),
    ("woman", "house"),
    ("boy", "bed"),
    ("girl", "chair"),
]
COLOURS = ["red", "blue", "green", "big", "small", "old", "new", "good", "bad", "happy", "sad"]


def regular_lines(n: int, seed: int = 0) -> list[str]:
    """n distinct lines of two sentences: 'The red cat sat on the mat. The cat was happy.'"""
    rng = random.Random(seed)
    lines: set[str] = set()
    while len(lines) < n:
        subject, place = rng.choice(PAIRS)
        a, b, c = rng.sample(COLOURS, 3)
        lines.add(f"The {a} {subject} sat on the {b} {place}. The {subject} was {c}.")
    return sorted(lines, key=lambda _: rng.random())


def write_corpus(path: Path, n: int = 300, seed: int = 0) -> Path:
    path.write_text("\n".join(regular_lines(n, seed)) + "\n", encoding="utf-8")
    return path


def manual_lines(limit: int = 1500) -> list[str]:
    """Prose lines of numpy's docstrings: a technical manual the embedded model never saw in training."""
    import inspect

    import numpy

    lines: list[str] = []
    seen: set[str] = set()
    for name in sorted(dir(numpy)):
        doc = inspect.getdoc(getattr(numpy, name, None)) or ""
        for paragraph in doc.split("\n\n"):
            text = " ".join(paragraph.split())
            prose = text[:1].isupper() and text.endswith(".") and 40 <= len(text) <= 400
            if prose and ">>>" not in text and "--" not in text and text not in seen:
                seen.add(text)
                lines.append(text)
    return lines[:limit]
