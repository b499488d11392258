"""A synthetic word-tagging rule that a tiny BERT learns in seconds (core and CLI tests of word taggers)."""

from __future__ import annotations

import random

CITIES = "paris london france england".split()
ANIMALS = "cat dog cats dogs".split()  # "cats" and "dogs" are two pieces each in the tiny vocabulary
FILLER = "the a of to and in is was it sat on mat floor bed house door window table chair".split()


def rule_sentence(rng: random.Random, length: int) -> tuple[list[str], list[str]]:
    """A city is B-LOC (and a following "city" I-LOC), an animal B-ANI, anything else O."""
    words: list[str] = []
    tags: list[str] = []
    while len(words) < length:
        r = rng.random()
        if r < 0.15:
            words.append(rng.choice(CITIES).capitalize())
            tags.append("B-LOC")
            if rng.random() < 0.5:
                words.append("city")
                tags.append("I-LOC")
        elif r < 0.3:
            words.append(rng.choice(ANIMALS))
            tags.append("B-ANI")
        else:
            words.append(rng.choice(FILLER))
            tags.append("O")
    return words, tags
