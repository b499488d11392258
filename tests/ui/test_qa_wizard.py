"""The question-answering path of the fine-tune wizard, driven like a user with a tiny BERT: JSON Lines
questions counted (unanswerable ones too), a split by passage, window settings, a live run to the end, its
results (exact match, F1, the questions answered wrongly with both answers marked), and "Try it": a
question on a passage answered with the answer marked in the passage, and a file answered into JSONL."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot
from task_helpers import choose_task, qa_rows, quick, to_settings, write_qa_jsonl
from wizard_helpers import click_next, stop_training_at_teardown  # noqa: F401 (a fixture)

from lmstudio_app.core.qa.predict import answer_question
from lmstudio_app.core.training.record import RunRecord
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard
from lmstudio_app.ui.taskviews.colours import ANSWER, EXPECTED, mark_colour

PASSAGE = "the sun on the road and the dog is green on the mat"


@pytest.fixture(scope="module")
def trained(qapp, request, tmp_path_factory, tiny_model):
    """The wizard after a finished run on the synthetic rule (its pages checked on the way)."""
    folder = tmp_path_factory.mktemp("qa_wizard")
    data = write_qa_jsonl(folder / "train.jsonl", n=400, seed=0)
    qtbot = QtBot(request)
    wizard = FineTuneWizard(AppState())
    wizard.ask_stop_training = lambda: True
    wizard.show()
    choose_task(qtbot, wizard, "qa")
    assert wizard.windowTitle() == "New fine-tune: question answering"
    path = wizard.qa
    to_settings(qtbot, wizard, path, data)
    page = path.data_page
    checks = {
        "detected": page.detected.text(),
        "problems": page.problems.toPlainText(),
        "first": [page.questions.item(0, c).text() for c in range(3)],
        "marked": page.passage.marked_texts(),
        "split_summary": path.split_page.summary.text(),
        "split_rows": [
            [path.split_page.table.item(r, c).text() for c in range(3)]
            for r in range(path.split_page.table.rowCount())
        ],
    }
    settings = path.settings_page
    quick(
        qtbot, settings, tiny_model("encoder"), max_steps=40, eval_steps=20, batch=16, patience=0,
        max_length=64, lr="3e-3", precision="fp32", seed=0,
    )  # fmt: skip
    settings.stride.setValue(16)
    checks["length_note"] = settings.length_note.text()
    click_next(qtbot, wizard)
    view = path.train_page.view
    assert view.state == "running", settings.message.text()
    assert not wizard.button(QWizard.WizardButton.BackButton).isEnabled()
    qtbot.waitUntil(lambda: view.state != "running", timeout=180_000)
    assert view.state == "finished", view.status.text()
    checks["status"] = view.status.text()
    checks["log"] = view.log.toPlainText()
    checks["curves"] = {k: view.curves.points(k)[0] for k in ("loss", "eval_exact_match", "eval_f1")}
    click_next(qtbot, wizard)
    yield wizard, path, data, checks
    wizard.hide()
    wizard.deleteLater()


def test_the_data_page_counts_questions_passages_and_unanswerable_ones(trained):
    _, path, _, checks = trained
    data = path.ctx.data
    assert f"<b>{len(data)} questions</b>" in checks["detected"]
    assert f"<b>{data.unanswerable} unanswerable</b>" in checks["detected"] and data.unanswerable > 40
    assert "Read as JSON Lines" in checks["detected"]
    assert checks["problems"] == "No problems found: every answer is in its passage."
    first = data.examples[0]
    assert checks["first"][1] == first.question
    if first.answers:  # the passage shown with its answer marked, exactly those characters
        assert checks["marked"] == [first.context[first.answers[0].start : first.answers[0].end]]


def test_split_keeps_passages_whole_and_settings_speak_of_windows(trained):
    _, path, _, checks = trained
    train, val = path.ctx.train, path.ctx.val
    assert not {e.context for e in train} & {e.context for e in val}
    assert (
        f"<b>{len(train)}</b> training and <b>{len(val)}</b> validation questions" in checks["split_summary"]
    )
    assert [row[0] for row in checks["split_rows"]] == ["answerable", "unanswerable", "passages"]
    assert "every passage fits one window" in checks["length_note"] or "overlap by" in checks["length_note"]
    saved = RunRecord(path.ctx.result.run_dir).saved_settings()
    assert (
        saved.kind == "qa" and saved.settings["stride"] == 16 and saved.settings["data"] == path.ctx.data_path
    )


def test_training_runs_live_to_the_end(trained):
    _, path, _, checks = trained
    assert "exact match" in checks["status"] and "Click “Results”" in checks["status"]
    assert "step 20: eval loss" in checks["log"] and "no-answer accuracy" in checks["log"]
    assert checks["curves"]["eval_exact_match"][:2] == [20.0, 40.0]
    assert path.ctx.result.metrics["eval_f1"] >= 0.7, path.ctx.result.metrics


def test_results_show_exact_match_f1_and_the_wrong_answers_marked(trained):
    wizard, path, _, _ = trained
    assert wizard.currentPage() is path.results_page
    view, result = path.results_page.view, path.ctx.result
    m = result.metrics
    assert f"Exact match <b>{m['eval_exact_match']:.3f}</b>" in view.summary.text()
    assert f"F1 <b>{m['eval_f1']:.3f}</b>" in view.summary.text() and "no answer" in view.summary.text()
    assert view.mistakes.rowCount() == len(result.mistakes)
    assert view.tabs.tabText(0) == f"Answered wrongly ({len(result.mistakes)})"
    if result.mistakes:
        row = result.mistakes[0]
        marks = view.passage.marks
        assert view.passage.toPlainText() == row["context"]
        for start, end, hue in marks:
            expected = row["predicted"] if hue == ANSWER else None
            if expected:
                assert row["context"][start:end] == expected
            assert hue in (ANSWER, EXPECTED)
        assert mark_colour(ANSWER).name() in view.key.text()


def test_try_it_marks_the_answer_in_the_passage_with_its_score_and_alternatives(trained, qtbot):
    _, path, _, _ = trained
    view = path.results_page.view
    view.tabs.setCurrentWidget(view.try_view)
    tried = view.try_view
    tried.question.setText("the dog")
    tried.passage.setPlainText(PASSAGE)
    qtbot.mouseClick(tried.answer_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tried.decoded is not None, timeout=30_000)
    expected = answer_question(path.ctx.result.model_dir, "the dog", PASSAGE)
    best = tried.decoded.best
    assert (best.text, best.start, best.end) == (expected.best.text, expected.best.start, expected.best.end)
    assert best.text == "green", best
    assert tried.passage.marked_texts() == [PASSAGE[best.start : best.end]] == ["green"]
    assert "Answer: <b>green</b>" in tried.result.text() and "score" in tried.result.text()
    spans = tried.shown_spans()
    assert tried.alternatives.rowCount() == len(spans) >= 2
    assert [tried.alternatives.item(r, 0).text() for r in range(len(spans))] == [s.text for s in spans]
    tried.alternatives.selectRow(1)  # another span marked on click
    assert tried.passage.marked_texts() == [PASSAGE[spans[1].start : spans[1].end]]
    tried.passage.setPlainText(PASSAGE + " today")  # an edited passage: the old offsets are gone
    assert tried.passage.marked_texts() == [] and tried.alternatives.rowCount() == 0


def test_try_it_answers_a_file_into_jsonl_scored_when_it_has_answers(trained, qtbot, tmp_path):
    _, path, _, _ = trained
    batch = path.results_page.view.try_view.batch
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in qa_rows(30, 5)), encoding="utf-8")
    batch.set_input(data)
    assert batch.output_edit.text().endswith("dev-answers.jsonl") and batch.column_combo.isHidden()
    with qtbot.waitSignal(batch.succeeded, timeout=60_000):
        batch.run()
    assert "Wrote 30 answers" in batch.status.text() and "exact match" in batch.status.text()
    lines = [json.loads(line) for line in (tmp_path / "dev-answers.jsonl").read_text().splitlines()]
    assert len(lines) == 30 and {"id", "answer", "score", "start", "end"} <= set(lines[0])
    bad = batch.start(data, tmp_path / "answers.csv")  # refused before any work: JSONL only
    assert bad is None and ".jsonl" in batch.status.text()
