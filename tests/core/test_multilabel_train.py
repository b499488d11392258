"""The embedded MiniLM learns a multi-label rule on the engine; its figures agree with the saved model's own
predictions; the folder says its kind; a table is predicted. On a tiny BERT: a fixed threshold, cancel and
resume, and a run of one kind not resumed as the other."""

from __future__ import annotations

import json

import pytest
from multilabel_helpers import LABELS, LEARNS, QUICK, rule_table, truth

from lmstudio_app.core.data.labeled import prepare, split
from lmstudio_app.core.data.table import DataError, read_table
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.finetune.job import FineTuneJob, fine_tune, resume_run
from lmstudio_app.core.finetune.multilabel_eval import FIXED, TUNED
from lmstudio_app.core.finetune.multilabel_predict import label_scores, predict_table, score_texts
from lmstudio_app.core.finetune.settings import FineTuneResult, FineTuneSettings
from lmstudio_app.core.tasks import Cancelled, TaskState
from lmstudio_app.core.training.record import RunRecord, SavedSettings


def rule_data(folder, rows: int = 200):
    data = prepare(read_table(rule_table(folder / "rule.csv", rows)), "text", "labels", multi_label=True)
    return split(data, 0.25, seed=0)


def settings(base, **overrides) -> FineTuneSettings:
    return FineTuneSettings(base_model=str(base), **{**QUICK, **overrides})


@pytest.fixture(scope="module")
def trained(tmp_path_factory, minilm_dir):
    folder = tmp_path_factory.mktemp("multilabel")
    train, val = rule_data(folder)
    events: list[dict] = []
    learns = settings(minilm_dir, **LEARNS, eval_steps=6)
    result = fine_tune(train, val, learns, folder / "run", on_event=events.append)
    return result, train, val, events


@pytest.mark.slow  # pays for the module's training: 12 steps of MiniLM
def test_minilm_learns_the_rule_well_above_chance(trained):
    from sklearn.metrics import f1_score

    result, _, val, events = trained
    everything = [[1] * len(LABELS)] * len(val)  # the trivial "every label applies"
    truths = [[int(lab in row) for lab in LABELS] for row in val.label_sets]
    chance = f1_score(truths, everything, average="micro")
    m = result.metrics
    assert chance < 0.7 and m["eval_micro_f1"] >= 0.9 and m["eval_macro_f1"] >= 0.9
    assert result.multi_label and result.labels == LABELS and result.confusion == []
    assert m["threshold_source"] == TUNED and 0 < result.threshold == m["eval_threshold"] < 1
    assert set(m["per_label"]) == set(LABELS) and result.per_class == m["per_label"]
    assert [e["step"] for e in events if e["type"] == "eval"] == [6, 12]
    assert {"eval_micro_f1", "eval_macro_f1", "eval_exact_match", "eval_threshold"} <= set(events[-1])


def test_the_figures_agree_with_the_saved_models_own_predictions(trained):
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    result, _, val, _ = trained
    predicted = [r.predicted for r in score_texts(result.model_dir, val.texts)]
    as_rows = [[int(lab in row) for lab in LABELS] for row in predicted]
    truths = [[int(lab in row) for lab in LABELS] for row in val.label_sets]
    assert result.metrics["eval_micro_f1"] == pytest.approx(f1_score(truths, as_rows, average="micro"))
    precision, recall, f1, support = precision_recall_fscore_support(truths, as_rows, zero_division=0)
    for i, label in enumerate(LABELS):
        assert result.per_class[label]["f1"] == pytest.approx(f1[i])
        assert result.per_class[label]["support"] == support[i]
    wrong = {t for t, p, y in zip(val.texts, predicted, val.label_sets, strict=True) if p != y}
    assert {row["text"] for row in result.misclassified} == wrong


def test_the_folder_says_its_kind_and_reopens(trained):
    result, *_ = trained
    meta = json.loads((result.model_dir / "finetune.json").read_text())
    assert meta["multi_label"] is True and meta["separator"] == ";" and meta["labels"] == LABELS
    assert meta["threshold"] == pytest.approx(result.threshold)
    config = json.loads((result.model_dir / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    metrics = json.loads((result.model_dir / "metrics.json").read_text())
    assert metrics["per_label"]["animal"].keys() == {"precision", "recall", "f1", "support"}
    assert metrics["eval_threshold"] == pytest.approx(result.threshold)
    saved = RunRecord(result.run_dir).saved_settings()
    assert saved.kind == "finetune" and saved.job["multi_label"] is True
    reopened = FineTuneResult.load(result.run_dir)
    assert reopened.multi_label and reopened.threshold == pytest.approx(result.threshold)


def test_one_text_gets_every_labels_score(trained):
    result, *_ = trained
    scores = label_scores(result.model_dir, "a red cat sat")
    assert sorted(name for name, _ in scores.scores) == LABELS
    assert [p for _, p in scores.scores] == sorted((p for _, p in scores.scores), reverse=True)
    assert scores.predicted == [name for name in LABELS if dict(scores.scores)[name] >= result.threshold]
    assert scores.predicted == truth("a red cat sat")
    assert score_texts(result.model_dir, ["the mat"], threshold=0.999)[0].predicted == []
    assert scores.to_dict()["labels"][0].keys() == {"label", "score"}


def test_a_table_is_predicted_with_joined_labels_and_a_score_per_label(trained, tmp_path):
    import pandas as pd

    result, *_ = trained
    given = tmp_path / "new.csv"
    given.write_text("id,text\n1,a blue dog\n2,\n3,the old mat\n4,red house\n", encoding="utf-8")
    done = predict_table(result.model_dir, given, "text", tmp_path / "out.csv")
    assert (done.rows, done.skipped_empty) == (4, 1)
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert list(out.columns) == ["id", "text", "predicted_labels", "score_animal", "score_colour", "note"]
    assert out["predicted_labels"].tolist() == ["animal;colour", "", "", "colour"]
    assert out["note"].tolist() == ["", "empty text", "", ""]
    assert out["score_animal"][1] == "" and float(out["score_animal"][0]) >= result.threshold
    with pytest.raises(DataError, match="'words' is not in new.csv"):
        predict_table(result.model_dir, given, "words", tmp_path / "o.csv")


def test_a_fixed_threshold_is_kept_and_said(tmp_path, tiny_model):
    train, val = rule_data(tmp_path, rows=40)
    result = fine_tune(
        train, val, settings(tiny_model("encoder"), max_steps=2, threshold=0.3), tmp_path / "r"
    )
    assert result.threshold == 0.3 and result.metrics["threshold_source"] == FIXED
    assert json.loads((result.model_dir / "finetune.json").read_text())["threshold"] == 0.3


def test_a_cancelled_run_resumes_reading_the_labels_as_it_did(tmp_path, tiny_model):
    train, val = rule_data(tmp_path, rows=40)
    state = TaskState()
    run_dir = tmp_path / "run"

    def stop_at_two(event: dict) -> None:
        if event.get("type") == "log" and event["step"] == 2:
            state.request_stop()

    with pytest.raises(Cancelled):
        fine_tune(
            train,
            val,
            settings(tiny_model("encoder"), max_steps=4),
            run_dir,
            state=state,
            on_event=stop_at_two,
        )
    result = resume_run(run_dir)
    assert result.multi_label and result.metrics["global_step"] == 4 and result.labels == LABELS


def test_a_run_of_one_kind_is_not_resumed_as_the_other(tmp_path, tiny_model):
    train, val = rule_data(tmp_path, rows=40)
    single = FineTuneJob(train, val, settings(tiny_model("encoder")), None, tmp_path / "m")
    with pytest.raises(
        DataError, match=r"This run trained a multi-label classifier: .*\(with --multi-label\)"
    ):
        single.resume_from(SavedSettings(job={"multi_label": True, "labels": LABELS}))
    one_label = prepare(read_table(tmp_path / "rule.csv"), "text", "labels")  # "animal;colour" is a class
    with pytest.raises(UserError, match="A threshold is for multi-label classification"):
        FineTuneJob(one_label, one_label, settings("base", threshold=0.3), None, tmp_path / "m").check()
