"""A tiny BERT learns a synthetic tagging rule on the engine; its figures agree with the tagger's own
predictions; predict gives tags, scores and entities with offsets; a cancelled run resumes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from tagging_helpers import rule_sentence

from lmstudio_app.core.errors import ModelSourceError
from lmstudio_app.core.tasks import Cancelled, TaskState
from lmstudio_app.core.tokens.files import TokenDataPlan, read_tagged
from lmstudio_app.core.tokens.job import resume_run, train_tagger
from lmstudio_app.core.tokens.predict import load_tagger, tag_sentences, tag_text
from lmstudio_app.core.tokens.settings import TokenResult, TokenSettings
from lmstudio_app.core.training.record import RunRecord


def rule_file(path: Path, sentences: int = 200, seed: int = 0) -> Path:
    rng = random.Random(seed)
    rows = [rule_sentence(rng, rng.randint(3, 9)) for _ in range(sentences)]
    path.write_text("".join(json.dumps({"tokens": w, "tags": t}) + "\n" for w, t in rows), encoding="utf-8")
    return path


def settings(base: Path, **overrides) -> TokenSettings:
    values = dict(
        base_model=str(base), batch_size=16, learning_rate=5e-3, max_length=32, patience=0, max_steps=40,
        seed=3, precision="fp32", eval_steps=20,
    )  # fmt: skip
    values.update(overrides)
    return TokenSettings(**values)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("tokens")
    plan = TokenDataPlan(str(rule_file(folder / "rule.jsonl")), None, 0.2, 0)
    train, val = plan.build()
    events: list[dict] = []
    result = train_tagger(
        train, val, settings(tiny_model("encoder")), folder / "run", on_event=events.append, plan=plan
    )
    return result, val, events


def test_a_tiny_bert_learns_the_rule_well_above_chance(trained):
    result, val, events = trained
    majority = max(val.tag_counts().values()) / val.words()  # always "O"
    assert majority < 0.75
    m = result.metrics
    assert m["eval_token_accuracy"] > majority + 0.2 and m["eval_f1"] > 0.9
    assert result.tags == ["O", "B-ANI", "B-LOC", "I-LOC"] and result.scheme == "IOB2"
    assert set(result.per_type) == {"ANI", "LOC"}
    assert [e["step"] for e in events if e["type"] == "eval"] == [20, 40, 40]
    assert {"eval_token_accuracy", "eval_f1", "eval_precision", "eval_recall"} <= set(events[-1])


def test_the_figures_agree_with_the_saved_taggers_own_predictions(trained):
    from seqeval.metrics import f1_score
    from transformers import AutoModelForTokenClassification

    result, val, _ = trained
    predicted = [[tag for tag, _ in row] for row in tag_sentences(result.model_dir, val.sentences)]
    pairs = [
        (t, p)
        for true_row, pred_row in zip(val.tags, predicted, strict=True)
        for t, p in zip(true_row, pred_row, strict=True)
    ]
    assert result.metrics["eval_token_accuracy"] == pytest.approx(sum(t == p for t, p in pairs) / len(pairs))
    assert result.metrics["eval_f1"] == pytest.approx(f1_score(val.tags, predicted))
    assert sum(map(sum, result.confusion)) == val.words()
    run = result.run_dir
    assert json.loads((run / "model" / "metrics.json").read_text()) == json.loads(
        (run / "metrics.json").read_text()
    )
    assert RunRecord(run).saved_settings().kind == "tokens" and RunRecord(run).checkpoints() == []
    reopened = TokenResult.load(run)
    assert reopened.per_type == result.per_type and reopened.tags == result.tags
    model = AutoModelForTokenClassification.from_pretrained(result.model_dir)  # a plain HF folder
    assert model.config.id2label == dict(enumerate(result.tags))


def test_tag_text_gives_words_scores_and_entities_with_offsets(trained):
    result, _, _ = trained
    text = "The cats sat in Paris city, and London!"
    tagged = tag_text(result.model_dir, text)
    assert [t["word"] for t in tagged.tokens] == [
        "The",
        "cats",
        "sat",
        "in",
        "Paris",
        "city",
        ",",
        "and",
        "London",
        "!",
    ]
    assert all(0.25 <= t["score"] <= 1.0 for t in tagged.tokens)
    assert [(e["text"], e["label"]) for e in tagged.entities] == [
        ("cats", "ANI"),
        ("Paris city", "LOC"),
        ("London", "LOC"),
    ]
    for e in tagged.entities:
        assert text[e["start"] : e["end"]] == e["text"] and 0 < e["score"] <= 1
    loc = tagged.entities[1]
    assert loc["score"] == pytest.approx((tagged.tokens[4]["score"] + tagged.tokens[5]["score"]) / 2)
    assert tag_text(result.model_dir, "  ").to_dict() == {"tokens": [], "entities": []}


def test_a_sentence_longer_than_the_limit_is_tagged_whole(trained):
    result, _, _ = trained
    words, tags = rule_sentence(random.Random(7), 150)  # 150+ words, windows of 32 pieces
    predicted = tag_sentences(result.model_dir, [words, ["Paris"]])
    assert len(predicted[0]) == len(words) and predicted[1][0][0] == "B-LOC"
    right = sum(p == t for (p, _), t in zip(predicted[0], tags, strict=True))
    assert right / len(words) > 0.9


def test_a_classifier_folder_is_not_a_tagger(tiny_model, tmp_path):
    with pytest.raises(ModelSourceError, match="is not a word tagger \\(BertForSequenceClassification\\)"):
        load_tagger(tiny_model("classifier"), "cpu")
    with pytest.raises(ModelSourceError, match="no config.json"):
        load_tagger(tmp_path, "cpu")


def test_cancel_then_resume_reads_the_data_again_and_finishes(tmp_path, tiny_model):
    path = rule_file(tmp_path / "rule.jsonl", sentences=60)
    plan = TokenDataPlan(str(path), None, 0.2, 0)
    train, val = plan.build(read_tagged(path))
    state = TaskState()

    def stop_at_two(event: dict) -> None:
        if event["type"] == "log" and event["step"] == 2:
            state.request_stop()

    run = tmp_path / "run"
    with pytest.raises(Cancelled):
        train_tagger(
            train,
            val,
            settings(tiny_model("encoder"), max_steps=4, eval_steps=4),
            run,
            state=state,
            on_event=stop_at_two,
            plan=plan,
        )
    assert [p.name for p in RunRecord(run).checkpoints()] == ["checkpoint-3"]  # the step after the request
    result = resume_run(run)
    assert result.metrics["global_step"] == 4 and (run / "model" / "tokens.json").is_file()
    assert json.loads((run / "model" / "tokens.json").read_text())["tags"] == result.tags
