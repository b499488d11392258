"""A word tagger and an extractive-QA model trained in seconds on the app's own jobs, on rules whose cue is
known, for the explain tests (core, CLI and GUI); each is trained once per test session.

Tagger rule: the word right after "in" is a place (B-LOC), whatever that word is, and every other word is
O; so the tag of a word after "in" is decided by the word before it, never by the word itself.
QA rule: a context names a drink and a city ("the man drank tea ... in London"); the question "the drink"
or "the city" says which of the two is the answer, so the question's noun decides it.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from pathlib import Path

from tiny_models import WORDS

CUE = "in"
OTHERS = [w for w in dict.fromkeys(WORDS) if w != CUE]
QUESTIONS = ("drink", "city")
DRINKS = "tea coffee milk water".split()
CITIES = "paris london".split()
FILLER = "the a on mat floor road sun moon day night sat".split()


def after_in_sentence(rng: random.Random) -> tuple[list[str], list[str]]:
    """4-9 words; one or two of them follow an "in" and are B-LOC."""
    words = rng.choices(OTHERS, k=rng.randint(3, 7))
    for _ in range(rng.randint(1, 2)):
        at = rng.choice([i for i in range(len(words) + 1) if not i or words[i - 1] != CUE])
        words[at:at] = [CUE, rng.choice(OTHERS)]
    tags = ["B-LOC" if i and words[i - 1] == CUE else "O" for i in range(len(words))]
    return words, tags


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Hidden-32 models train faster on one thread than on two busy cores (about 15 times here)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _once(tmp_path_factory, name: str) -> tuple[Path, bool]:
    """A folder shared by every test module of this session; True when it already holds the model."""
    folder = tmp_path_factory.getbasetemp() / name
    return folder, (folder / "model" / "config.json").is_file()


def trained_tagger(tmp_path_factory, base: Path) -> Path:
    """The model folder of a tiny BERT tagger trained by the app's tagging job on the "after in" rule."""
    from lmstudio_app.core.tokens.data import TaggedData
    from lmstudio_app.core.tokens.job import train_tagger
    from lmstudio_app.core.tokens.settings import TokenSettings

    folder, done = _once(tmp_path_factory, "explain_tagger")
    if not done:
        rng = random.Random(0)
        rows = [after_in_sentence(rng) for _ in range(1000)]
        train = TaggedData([w for w, _ in rows[:900]], [t for _, t in rows[:900]])
        val = TaggedData([w for w, _ in rows[900:]], [t for _, t in rows[900:]])
        settings = TokenSettings(
            base_model=str(base), batch_size=32, learning_rate=3e-3, max_length=32, patience=0, max_steps=300,
            eval_steps=300, seed=0, precision="fp32",
        )  # fmt: skip
        with one_thread():
            result = train_tagger(train, val, settings, folder, model_dir=folder / "model")
        assert result.metrics["eval_f1"] > 0.95, result.metrics
    return folder / "model"


def qa_example(rng: random.Random, asked: str) -> tuple[str, str, str, int]:
    """(question, context, answer, answer start): a context names a drink and a city in either order."""
    drink, city = rng.choice(DRINKS), rng.choice(CITIES).capitalize()
    fill = [" ".join(rng.choices(FILLER, k=rng.randint(0, 3))) for _ in range(3)]
    parts = [f"the man drank {drink}", f"in {city}"]
    if rng.random() < 0.5:
        parts.reverse()
    context = " ".join(x for x in (fill[0], parts[0], fill[1], parts[1], fill[2]) if x)
    answer = drink if asked == "drink" else city
    return f"the {asked}", context, answer, context.index(f" {answer}") + 1


def qa_examples(n: int, seed: int) -> list:
    """Questions "the drink" or "the city" on contexts holding both: the question decides the answer."""
    from lmstudio_app.core.qa.data import Answer, QAExample

    rng = random.Random(seed)
    out = []
    for i in range(n):
        question, context, answer, at = qa_example(rng, rng.choice(QUESTIONS))
        out.append(QAExample(str(i), question, context, [Answer(answer, at)], f"row {i + 1}"))
    return out


def trained_qa(tmp_path_factory, base: Path) -> Path:
    """The model folder of a tiny BERT trained by the app's QA job on the drink-or-city rule."""
    from lmstudio_app.core.qa.job import train_qa
    from lmstudio_app.core.qa.settings import QASettings

    folder, done = _once(tmp_path_factory, "explain_qa")
    if not done:
        settings = QASettings(
            base_model=str(base), max_length=64, stride=16, batch_size=32, learning_rate=3e-3, max_steps=400,
            eval_steps=400, patience=0, precision="fp32", seed=0,
        )  # fmt: skip
        with one_thread():
            result = train_qa(
                qa_examples(900, 0), qa_examples(100, 1), settings, folder, model_dir=folder / "model"
            )
        assert result.metrics["eval_exact_match"] >= 0.8, result.metrics
    return folder / "model"
