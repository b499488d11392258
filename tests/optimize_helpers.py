"""A classifier fine-tuned in seconds for the optimize tests: a real run folder (settings.json with its data
plan, so its validation rows can be rebuilt) whose tiny BERT answers confidently."""

from __future__ import annotations

import random
from pathlib import Path

POS = "good great happy love like wonderful".split()
NEG = "bad terrible sad hate awful boring".split()
FILLER = "the a cat dog sat on mat movie film was".split()


def sentiment_csv(path: Path, rows: int = 96, seed: int = 0) -> Path:
    """Texts with three sentiment words among filler words, labelled pos or neg."""
    rng = random.Random(seed)
    lines = ["text,label"]
    for _ in range(rows):
        label = rng.choice(["pos", "neg"])
        words = rng.choices(POS if label == "pos" else NEG, k=3) + rng.choices(FILLER, k=rng.randint(1, 8))
        rng.shuffle(words)
        lines.append(f"{' '.join(words)},{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


_trained: dict[Path, object] = {}


def trained_classifier(folder: Path, base: Path):
    """fine_tune() of the tiny `base` encoder on a sentiment table in folder/run (model in run/model); the
    first call's run serves every later call of the test session (it takes seconds to train)."""
    if base in _trained:
        return _trained[base]
    from lmstudio_app.core.data.labeled import prepare, split
    from lmstudio_app.core.data.table import read_table
    from lmstudio_app.core.finetune.job import fine_tune
    from lmstudio_app.core.finetune.settings import FineTuneSettings

    folder.mkdir(parents=True, exist_ok=True)
    data = prepare(read_table(sentiment_csv(folder / "data.csv")), "text", "label")
    train, val = split(data, 0.25, seed=0)
    settings = FineTuneSettings(
        base_model=str(base),
        batch_size=8,
        learning_rate=5e-3,
        max_length=32,
        patience=0,
        max_steps=24,
        seed=3,
        precision="fp32",
    )
    _trained[base] = fine_tune(train, val, settings, folder / "run")
    return _trained[base]
