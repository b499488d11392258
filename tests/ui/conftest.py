"""Finished word-tagging and question-answering runs in the runs folder, trained once per session with the
core (seconds on a tiny BERT), for the views that open them: runs list, results, try-it, screenshots."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tagger_run(tiny_model, tmp_path_factory) -> Path:
    """The run folder of a tagger that learned tests/tagging_helpers.py's rule (entity F1 > 0.9)."""
    from tagging_helpers import rule_sentence

    from lmstudio_app.core.tokens.files import TokenDataPlan
    from lmstudio_app.core.tokens.job import train_tagger
    from lmstudio_app.core.tokens.settings import TokenSettings
    from lmstudio_app.core.training.runs import new_run_dir

    rng = random.Random(0)
    data = tmp_path_factory.mktemp("tagger_data") / "rule.jsonl"
    rows = [rule_sentence(rng, rng.randint(3, 9)) for _ in range(200)]
    data.write_text("".join(json.dumps({"tokens": w, "tags": t}) + "\n" for w, t in rows), encoding="utf-8")
    plan = TokenDataPlan(str(data), None, 0.2, 0)
    train, val = plan.build()
    settings = TokenSettings(
        base_model=str(tiny_model("encoder")), batch_size=16, learning_rate=5e-3, max_length=32, patience=0,
        max_steps=40, seed=3, precision="fp32", eval_steps=20, name="ner-rule",
    )  # fmt: skip
    run_dir = new_run_dir(settings.name)
    train_tagger(train, val, settings, run_dir, plan=plan)
    return run_dir


@pytest.fixture(scope="session")
def qa_run(tiny_model, tmp_path_factory) -> Path:
    """The run folder of a QA model that learned task_helpers.qa_rows's rule (the word after "is")."""
    from task_helpers import write_qa_jsonl

    from lmstudio_app.core.qa.data import read_qa, split_by_context
    from lmstudio_app.core.qa.job import train_qa
    from lmstudio_app.core.qa.settings import QASettings
    from lmstudio_app.core.training.runs import new_run_dir

    data = write_qa_jsonl(tmp_path_factory.mktemp("qa_data") / "train.jsonl", n=400, seed=0)
    settings = QASettings(
        base_model=str(tiny_model("encoder")), max_length=64, stride=16, batch_size=16, learning_rate=3e-3,
        max_steps=40, eval_steps=20, patience=0, precision="fp32", seed=0, data=str(data), name="qa-rule",
    )  # fmt: skip
    train, val = split_by_context(read_qa(data), settings.val_fraction, settings.seed)
    val += tricky_questions()  # two nouns, two colours: some are answered wrongly, as real data would be
    run_dir = new_run_dir(settings.name)
    train_qa(train, val, settings, run_dir)
    return run_dir


def tricky_questions() -> list:
    """Questions about the second of two things in a passage (the rule learned answers the first)."""
    from lmstudio_app.core.qa.data import Answer, QAExample

    out = []
    for i, (first, colour, second, answer) in enumerate(
        [("dog", "red", "cat", "blue"), ("cup", "old", "book", "new"), ("car", "big", "door", "small")]
    ):
        context = f"the {first} is {colour} on the road and the {second} is {answer} at night"
        out.append(
            QAExample(f"tricky-{i}", f"the {second}", context, [Answer(answer, context.rindex(answer))])
        )
    return out
