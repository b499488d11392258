"""Tiny BERT teachers and students for the distillation tests: deeper, wider or with another vocabulary
than tests/tiny_models.py's, and a keyword rule a tiny teacher learns in seconds."""

from __future__ import annotations

import random
from pathlib import Path

from tests.tiny_models import vocab

POS = "good great happy love like".split()
NEG = "bad terrible sad hate awful".split()
FILLER = "the a cat dog sat on mat house door window table chair car road city".split()


def tiny_bert(
    folder: Path,
    *,
    layers: int = 6,
    hidden: int = 32,
    words: list[str] | None = None,
    labels: tuple[str, ...] = (),
) -> Path:
    """Save a random BERT (`layers` x 2 heads, `hidden` wide; an encoder, or a classifier of `labels`)
    with a WordPiece tokenizer of `words` (default: tests/tiny_models.py's vocabulary) into `folder`."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    names = words or vocab()
    (folder / "vocab.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True)
    config = BertConfig(
        vocab_size=len(names),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
    )
    if labels:
        config.id2label = dict(enumerate(labels))
        config.label2id = {name: i for i, name in enumerate(labels)}
    torch.manual_seed(0)
    (BertForSequenceClassification if labels else BertModel)(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def rule_text(rng: random.Random, label: str) -> str:
    words = rng.choices(POS if label == "pos" else NEG, k=2) + rng.choices(FILLER, k=rng.randint(2, 8))
    rng.shuffle(words)
    return " ".join(words)


def rule_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """A table (text, label) whose label is which keyword family its text holds."""
    rng = random.Random(seed)
    lines = ["text,label"]
    for _ in range(rows):
        label = rng.choice(["neg", "pos"])
        lines.append(f"{rule_text(rng, label)},{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
