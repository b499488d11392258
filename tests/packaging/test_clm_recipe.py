"""The causal-LM recipe (packaging/clm): held-out split, the bigram baseline and a short real run.

Why: the real run takes an hour of CPU; these tests keep its measuring honest (the bigram against a
hand count, bits per character against a direct sum) and check that a short run writes a model that the
app treats as a causal LM, with the record the README quotes.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "packaging" / "clm"))

import train_clm  # noqa: E402

WORDS = "the cat sat on the mat while a dog slept by the warm fire in the old house".split()


def _corpus(path: Path, n: int = 60) -> Path:
    lines = [
        " ".join(WORDS[i % 7 : i % 7 + 9])
        + f" and number {i} was here, and it stayed there all through the long cold winter night."
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_held_out_passages_are_80_to_400_characters_and_never_trained_on(tmp_path: Path) -> None:
    train, held = train_clm.read_passages(_corpus(tmp_path / "c.txt"), seed=1)
    assert held and all(80 <= len(p) <= 400 for p in held)
    assert len(held) == 6 and not set(held) & set(train) and len(train) + len(held) == 60


def test_bigram_bits_per_char_is_the_hand_computed_best_interpolation() -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(train_clm.BASE)
    train, held = ["the cat sat on the mat .", "the dog sat on the rug ."], ["the cat sat on the rug ."]
    ids = [tokenizer(t)["input_ids"] for t in train]
    unigram = {}
    bigram = {}
    context = {}
    for row in ids:
        for a, b in zip(row[:-1], row[1:], strict=False):
            unigram[b] = unigram.get(b, 0) + 1
            context[a] = context.get(a, 0) + 1
            bigram[(a, b)] = bigram.get((a, b), 0) + 1
    n, vocab = sum(unigram.values()), len(tokenizer)
    row = tokenizer(held[0])["input_ids"]

    def bits(lam: float) -> float:
        total = 0.0
        for a, b in zip(row[:-1], row[1:], strict=False):
            p = lam * (bigram.get((a, b), 0) / context[a] if a in context else 0) + (1 - lam) * (
                (unigram.get(b, 0) + 1) / (n + vocab)
            )
            total -= math.log2(p)
        return total / len(held[0])

    expected = min(bits(lam) for lam in (0.3, 0.5, 0.6, 0.7, 0.8, 0.9))
    assert train_clm.bigram_bits_per_char(tokenizer, train, held) == pytest.approx(expected, rel=1e-9)


@pytest.mark.slow
def test_a_short_run_writes_a_causal_lm_and_its_record(tmp_path: Path) -> None:
    out = tmp_path / "model"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "packaging" / "clm" / "train_clm.py"),
            "--corpus",
            str(_corpus(tmp_path / "c.txt")),
            "--out",
            str(out),
            "--minutes",
            "0.01",
            "--batch",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert record["steps"] >= 1 and record["heldout_bits_per_char"] > 0 and record["bigram_bits_per_char"] > 0
    from lmstudio_app.core.models.family import CAUSAL, family_of

    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert family_of(config) == CAUSAL and config["bos_token_id"] == 101 and config["eos_token_id"] == 102
