"""A classifier run that must come out the same however it is split: a tiny BERT without dropout (dropout
draws differ between processes) and a small two-class table."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tiny_models import WORDS, build_tiny_model


def exact_base(folder: Path) -> Path:
    """A tiny BERT whose training is a pure function of its data order: no dropout."""
    build_tiny_model(folder, "pretraining")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def two_class_table(path: Path, rows: int = 80) -> Path:
    """`rows` texts of 5 to 14 words (lengths vary: the length-grouped order matters), labels pos/neg."""
    rng = random.Random(0)
    lines = ["text,label"]
    for _ in range(rows):
        label = rng.choice(["pos", "neg"])
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
        lines.append(f"{'good happy' if label == 'pos' else 'bad sad'} {words},{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def largest_difference(a: dict, b: dict) -> float:
    """Over the tensors both models have (a base model has no classifier head, for one)."""
    shared = a.keys() & b.keys()
    assert len(shared) > 10
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in shared)


def logged_losses(run: Path) -> dict[int, float]:
    """step -> training loss, from history.jsonl; a repeated step fails the caller's test."""
    events = [json.loads(line) for line in (run / "history.jsonl").read_text(encoding="utf-8").splitlines()]
    steps = [e["step"] for e in events if e["type"] == "log"]
    assert steps == sorted(set(steps)), f"repeated or unordered steps: {steps}"
    return {e["step"]: e["loss"] for e in events if e["type"] == "log"}
