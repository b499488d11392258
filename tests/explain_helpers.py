"""A tiny classifier trained in seconds on data where one keyword decides the label, and an
independent gradient at the embeddings output (explain tests)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from tiny_models import WORDS

KEYWORDS = {"great": "positive", "terrible": "negative"}
LABELS = ["negative", "positive"]
FILLER = [w for w in dict.fromkeys(WORDS) if w not in KEYWORDS and w not in ("love", "hate", "good", "bad")]


def keyword_rows(n: int, seed: int) -> list[tuple[str, str, str]]:
    """(text, label, keyword): 4-9 random filler words with one keyword at a random place."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        keyword = list(KEYWORDS)[i % 2]
        words = rng.choices(FILLER, k=rng.randint(4, 9))
        words.insert(rng.randint(0, len(words)), keyword)
        rows.append((" ".join(words), KEYWORDS[keyword], keyword))
    return rows


def train_keyword_classifier(
    base: Path, out: Path, steps: int = 300, seed: int = 0, lr: float = 1e-3, wd: float = 0.01
) -> Path:
    """Fine-tune the tiny classifier in `base` with a plain torch loop and save it to `out`.

    A gentle learning rate keeps the model smooth along IG's path (at 3e-3 its output jumps between two
    interpolation steps and IG's delta is large, which the app then rightly warns about).
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a hidden-32 model: threads only add overhead (minutes on 2 busy cores)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base)
    model.config.id2label = dict(enumerate(LABELS))
    model.config.label2id = {label: i for i, label in enumerate(LABELS)}
    rows = keyword_rows(320, seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    model.train()
    rng = random.Random(seed)
    for _ in range(steps):
        batch = rng.sample(rows, 32)
        enc = tokenizer([r[0] for r in batch], padding=True, return_tensors="pt")
        labels = torch.tensor([LABELS.index(r[1]) for r in batch])
        loss = model(**enc, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    torch.set_num_threads(threads)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def embeddings_output_grad(loaded, enc, target, replace=None) -> tuple[np.ndarray, np.ndarray]:
    """(d target / d bert.embeddings output, that output), by a hook of our own rather than Captum's;
    `replace(output)` may put another tensor in the output's place (a point on IG's path)."""
    import torch

    from lmstudio_app.core.explain.inputs import output_logits

    seen = {}

    def hook(_module, _args, out):
        seen["out"] = out if replace is None else replace(out)
        return seen["out"]

    handle = loaded.model.bert.embeddings.register_forward_hook(hook)
    try:
        score = target.score(output_logits(loaded.model(input_ids=enc.ids, **enc.extra)))
        (grad,) = torch.autograd.grad(score.sum(), seen["out"])
    finally:
        handle.remove()
    return grad.detach().numpy(), seen["out"].detach().numpy()
