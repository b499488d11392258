"""A synthetic multi-label rule for the tests: "animal" when a text has cat or dog, "colour" when it has red
or blue; both, either or none.

The embedded MiniLM learns it in about ten steps (micro-F1 1.0). A tiny random BERT reliably learns only one
of the two labels: its [CLS] readout locks onto whichever cue it picks up first (seen with plain PyTorch too,
for 1 to 4 layers, 2 to 8 heads, learning rates 5e-4 to 2e-2), so the tests that need a model that learned
use MiniLM, and the tiny BERT checks the mechanics (files, shapes, agreement with the threshold)."""

from __future__ import annotations

import json
import random
from pathlib import Path

FILLER = "the a on sat mat house big small old new".split()
RULES = {"animal": ("cat", "dog"), "colour": ("red", "blue")}
LABELS = sorted(RULES)


def rule_row(rng: random.Random) -> tuple[str, list[str]]:
    """One text and its labels (in label order)."""
    words = rng.choices(FILLER, k=rng.randint(1, 3))
    labels = [label for label in LABELS if rng.random() < 0.5]
    words += [rng.choice(RULES[label]) for label in labels]
    rng.shuffle(words)
    return " ".join(words), labels


def truth(text: str) -> list[str]:
    """The rule's labels of any text."""
    words = text.split()
    return [label for label in LABELS if any(w in words for w in RULES[label])]


def rule_table(path: Path, rows: int = 200, seed: int = 0, separator: str = ";") -> Path:
    """A CSV (text,labels) whose label cells join the labels with `separator`; a .jsonl path writes JSON
    lists instead."""
    rng = random.Random(seed)
    pairs = [rule_row(rng) for _ in range(rows)]
    if path.suffix == ".jsonl":
        lines = [json.dumps({"text": t, "labels": labels}) for t, labels in pairs]
    else:
        lines = ["text,labels", *(f'{t},"{separator.join(labels)}"' for t, labels in pairs)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


QUICK = {  # a few seconds of training on the tiny BERT: the mechanics, not the learning
    "batch_size": 16,
    "learning_rate": 5e-3,
    "warmup_ratio": 0.0,
    "max_length": 16,
    "patience": 0,
    "max_steps": 8,
    "seed": 3,
    "precision": "fp32",
}
LEARNS = {**QUICK, "learning_rate": 2e-4, "max_steps": 12}  # the embedded MiniLM learns the rule
