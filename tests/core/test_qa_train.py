"""A tiny BERT learns a synthetic extractive-QA rule on the engine, and its answers come from the context."""

from __future__ import annotations

import json
import random

import pytest

from lmstudio_app.core.errors import ModelSourceError
from lmstudio_app.core.qa.data import Answer, QAExample
from lmstudio_app.core.qa.job import train_qa
from lmstudio_app.core.qa.metrics import normalize_answer
from lmstudio_app.core.qa.predict import answer_examples, answer_question, is_qa_model
from lmstudio_app.core.qa.settings import QASettings
from lmstudio_app.core.training.record import RunRecord

NOUNS = "cat dog car house book cup door table chair bed".split()
COLOURS = "red blue green big small old new good bad happy sad".split()
FILLER = "the a on mat floor road city sun moon day night".split()


def synthetic(n: int, seed: int, unanswerable: float = 0.2) -> list[QAExample]:
    """ "the X" asks what the X is: the answer is the word after "is"; without an "is", there is none."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        noun, colour = rng.choice(NOUNS), rng.choice(COLOURS)
        left = " ".join(rng.choices(FILLER, k=rng.randint(0, 6)))
        right = " ".join(rng.choices(FILLER, k=rng.randint(0, 6)))
        if rng.random() < unanswerable:
            context = f"{left} the {noun} {right}".strip()
            out.append(QAExample(str(i), f"the {noun}", context, [], f"row {i + 1}"))
            continue
        head = f"{left} the {noun} is ".lstrip()
        context = f"{head}{colour} {right}".strip()
        out.append(QAExample(str(i), f"the {noun}", context, [Answer(colour, len(head))], f"row {i + 1}"))
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model):
    run = tmp_path_factory.mktemp("qa_run")
    settings = QASettings(
        base_model=str(tiny_model("encoder")),
        max_length=64,
        stride=16,
        batch_size=16,
        learning_rate=3e-3,
        max_steps=40,
        eval_steps=20,
        patience=0,
        precision="fp32",
        seed=0,
    )
    events: list[dict] = []
    result = train_qa(synthetic(320, 0), synthetic(60, 1), settings, run, on_event=events.append)
    return result, events


def test_a_tiny_bert_learns_the_answer_is_the_word_after_is(trained):
    result, events = trained
    m = result.metrics
    # chance: about one context token in ten; the rule is learned well above it
    assert m["eval_exact_match"] >= 0.8 and m["eval_f1"] >= 0.8, m
    assert m["eval_no_answer_accuracy"] >= 0.7 and m["eval_has_answer_f1"] >= 0.8, m
    assert result.unanswerable
    evals = [e for e in events if e["type"] == "eval"]
    assert [e["step"] for e in evals] == [20, 40, 40] and evals[-1]["final"]
    assert all("eval_exact_match" in e and "eval_no_answer_accuracy" in e for e in evals)
    record = RunRecord(result.run_dir)
    assert record.saved_settings().kind == "qa" and record.metrics() == pytest.approx(m)
    assert json.loads((result.model_dir / "metrics.json").read_text()) == pytest.approx(m)
    assert json.loads((result.model_dir / "qa.json").read_text())["unanswerable"] is True
    assert record.effective_status()[0] == "finished" and record.checkpoints() == []


def test_the_saved_model_gives_the_same_scores_through_predict(trained):
    """EM recomputed from the saved folder's own answers (another path than the trainer's evaluation)."""
    result, _ = trained
    val = synthetic(60, 1)
    decoded = answer_examples(result.model_dir, val)
    exact = [
        normalize_answer(d.best.text) == normalize_answer(e.answers[0].text if e.answers else "")
        for d, e in zip(decoded, val, strict=True)
    ]
    assert sum(exact) / len(val) == pytest.approx(result.metrics["eval_exact_match"])
    for d, e in zip(decoded, val, strict=True):
        assert e.context[d.best.start : d.best.end] == d.best.text
        if d.no_answer:
            assert d.best.text == "" and d.best.score == pytest.approx(d.null_score)
        for span in d.alternatives:
            assert e.context[span.start : span.end] == span.text


def test_an_answer_deep_in_a_long_context_is_found_in_a_later_window(trained):
    result, _ = trained
    rng = random.Random(4)
    filler = " ".join(rng.choices(FILLER, k=150))  # about 150 tokens: several windows of 64
    context = f"{filler} the dog is green on the road"
    decoded = answer_question(result.model_dir, "the dog", context)
    assert decoded.best.text == "green" and context[decoded.best.start : decoded.best.end] == "green"
    assert decoded.best.start == len(filler) + len(" the dog is ")
    nothing = answer_question(result.model_dir, "the dog", f"{filler} the dog on the road")
    assert nothing.no_answer and nothing.best.text == ""


def test_a_model_of_another_task_is_refused(tiny_model):
    assert not is_qa_model(tiny_model("classifier"))
    with pytest.raises(
        ModelSourceError, match=r"is not a question-answering model \(BertForSequenceClassification\)"
    ):
        answer_question(tiny_model("classifier"), "the dog", "the dog is red")
