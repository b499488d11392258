"""The word-tags path of the fine-tune wizard, driven like a user with a tiny BERT: the task chosen on the
first page, a CoNLL file's sentences, tokens, tags and a long sentence shown, split, settings, a live run to
the end, its results (token accuracy, entity scores per type, the confusion between tags), and "Try it":
a typed text tagged on screen, a CoNLL file and a table column tagged into files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot
from task_helpers import choose_task, quick, to_settings, write_rule_conll
from wizard_helpers import click_next, stop_training_at_teardown  # noqa: F401 (a fixture)

from lmstudio_app.core.tokens.predict import tag_text
from lmstudio_app.core.training.record import RunRecord
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard

LONG_AT = 7  # the sentence of 150 words (longer than 128 pieces): split into windows, never cut
TEXT = "The cats sat in Paris city, and London!"


@pytest.fixture(scope="module")
def trained(qapp, request, tmp_path_factory, tiny_model):
    """The wizard after a finished run on the rule (its pages checked on the way), and the data file."""
    folder = tmp_path_factory.mktemp("tokens_wizard")
    data = folder / "rule.conll"
    long_line = write_rule_conll(data, sentences=200, long_at=LONG_AT)
    wizard = FineTuneWizard(AppState())
    wizard.ask_stop_training = lambda: True
    wizard.show()
    qtbot = QtBot(request)
    choose_task(qtbot, wizard, "tokens")
    assert wizard.windowTitle() == "New fine-tune: word tags"
    path = wizard.tokens
    page = path.data_page
    page.open_file(data)
    qtbot.waitUntil(lambda: not page.loading, timeout=60_000)
    checks = {
        "detected": page.detected.text(),
        "problems": page.problems.toPlainText(),
        "long_line": long_line,
        "sentences": page.sentences.rowCount(),
        "first_sentence": page.sentences.item(0, 2).text(),
        "tokens": [
            (page.tokens.item(r, 0).text(), page.tokens.item(r, 1).text())
            for r in range(page.tokens.rowCount())
        ],
        "tag_table": [
            (page.tag_table.item(r, 0).text(), page.tag_table.item(r, 1).text())
            for r in range(page.tag_table.rowCount())
        ],
    }
    assert page.isComplete(), checks["problems"]
    to_settings(qtbot, wizard, path, data)  # opens it again: the same file, the same result
    split = path.split_page
    checks["split_summary"] = split.summary.text()
    checks["split_rows"] = [
        [split.table.item(r, c).text() for c in range(3)] for r in range(split.table.rowCount())
    ]
    settings = path.settings_page
    quick(
        qtbot, settings, tiny_model("encoder"), max_steps=40, eval_steps=20, batch=16, patience=0,
        max_length=32, lr="5e-3", precision="fp32", seed=3,
    )  # fmt: skip
    checks["length_note"] = settings.length_note.text()
    assert wizard.button(QWizard.WizardButton.NextButton).text() == "Train"
    click_next(qtbot, wizard)
    view = path.train_page.view
    assert view.state == "running", settings.message.text()
    assert not wizard.button(QWizard.WizardButton.BackButton).isEnabled()
    qtbot.waitUntil(lambda: view.state != "running", timeout=180_000)
    assert view.state == "finished", view.status.text()
    checks["status"] = view.status.text()
    checks["log"] = view.log.toPlainText()
    checks["curves"] = {k: view.curves.points(k)[0] for k in ("loss", "eval_token_accuracy", "eval_f1")}
    click_next(qtbot, wizard)
    yield wizard, path, data, checks
    wizard.hide()
    wizard.deleteLater()


def test_the_data_page_shows_sentences_tokens_tags_and_the_long_sentence(trained):
    _, _, _, checks = trained
    assert "<b>200 sentences</b>" in checks["detected"] and "<b>4 tags</b>" in checks["detected"]
    assert "IOB2 entities of 2 types: ANI, LOC" in checks["detected"] and "CoNLL" in checks["detected"]
    assert checks["sentences"] == 200 and checks["tokens"][0][1] in ("O", "B-LOC", "I-LOC", "B-ANI")
    assert " ".join(w for w, _ in checks["tokens"]) == checks["first_sentence"]
    assert [t for t, _ in checks["tag_table"]] == ["O", "B-ANI", "B-LOC", "I-LOC"]
    problems = checks["problems"]
    assert "1 sentence is longer than 128 pieces with all-MiniLM-L6-v2" in problems
    assert f"at line {checks['long_line']}:" in problems and "split into overlapping windows" in problems
    assert "not cut" in problems and "broken" not in problems


def test_split_and_settings_speak_of_sentences_tags_and_windows(trained):
    _, _, _, checks = trained
    assert "<b>160</b> training and <b>40</b> validation sentences" in checks["split_summary"]
    assert [row[0] for row in checks["split_rows"]] == ["O", "B-ANI", "B-LOC", "I-LOC"]
    assert (
        f"1 of 200 sentences (0.5 %) is longer than 32: it is split into overlapping windows, not cut "
        f"(line {checks['long_line']})." in checks["length_note"]
    )


def test_training_runs_live_to_the_end(trained):
    wizard, path, _, checks = trained
    assert "token accuracy" in checks["status"] and "entity F1" in checks["status"]
    assert "Click “Results”" in checks["status"]
    assert "step 20: eval loss" in checks["log"] and "entity F1" in checks["log"]
    assert checks["curves"]["loss"][:3] == [1.0, 2.0, 3.0] and checks["curves"]["eval_f1"][:2] == [20.0, 40.0]
    result = path.ctx.result
    assert RunRecord(result.run_dir).saved_settings().kind == "tokens"
    assert result.metrics["eval_f1"] > 0.8, result.metrics


def test_results_show_accuracy_entity_scores_per_type_and_the_confusion(trained):
    wizard, path, _, _ = trained
    assert wizard.currentPage() is path.results_page
    view, result = path.results_page.view, path.ctx.result
    text = view.summary.text()
    assert f"Token accuracy <b>{result.metrics['eval_token_accuracy']:.3f}</b>" in text
    assert f"entity F1 <b>{result.metrics['eval_f1']:.3f}</b>" in text and "IOB2" in text
    types = {view.per_type.item(r, 0).text(): r for r in range(view.per_type.rowCount())}
    assert set(types) == {"ANI", "LOC"}
    assert view.per_type.item(types["LOC"], 3).text() == f"{result.per_type['LOC']['f1']:.3f}"
    assert [view.per_tag.item(r, 0).text() for r in range(view.per_tag.rowCount())] == result.tags
    assert view.displayed_confusion() == result.confusion and view.heatmap.labels == result.tags


def test_try_it_tags_a_typed_text_with_coloured_entities_and_scores(trained, qtbot):
    _, path, _, _ = trained
    view = path.results_page.view
    view.tabs.setCurrentWidget(view.try_view)
    tried = view.try_view
    tried.input.setPlainText(TEXT)
    qtbot.waitUntil(lambda: tried.last is not None, timeout=30_000)
    expected = tag_text(path.ctx.result.model_dir, TEXT)
    shown = [
        (tried.words.item(r, 0).text(), tried.words.item(r, 1).text()) for r in range(tried.words.rowCount())
    ]
    assert shown == [(t["word"], t["tag"]) for t in expected.tokens]
    assert [(c.text, c.label) for c in tried.text.chips] == [
        (e["text"], e["label"]) for e in expected.entities
    ]
    assert ("Paris city", "LOC") in [(c.text, c.label) for c in tried.text.chips]
    # every chip is the entity's own words, coloured with its type, the type written after it
    document = tried.text.toPlainText()
    for chip in tried.text.chips:
        assert document[chip.start : chip.end] == chip.text
        assert document[chip.end :].startswith(f" {chip.label}")
    assert "LOC" in tried.legend.text() and "ANI" in tried.legend.text()
    assert tried.words.item(0, 2).text().endswith("%")


def test_try_it_tags_a_conll_file_and_a_table_column_into_files(trained, qtbot, tmp_path):
    _, path, data, _ = trained
    batch = path.results_page.view.try_view.batch
    out = tmp_path / "tagged.conll"
    with qtbot.waitSignal(batch.succeeded, timeout=60_000):
        batch.start(data, out)
    assert "Tagged" in batch.status.text() and "sentences" in batch.status.text()
    lines = [line.split("\t") for line in out.read_text().splitlines() if line]
    assert lines and all(len(parts) == 2 for parts in lines)
    table = tmp_path / "texts.csv"
    table.write_text("id,text\n1,The cats sat in Paris city\n2,\n3,London\n", encoding="utf-8")
    batch.set_input(table)
    qtbot.waitUntil(lambda: batch.column_combo.count() == 2, timeout=20_000)
    assert batch.column_combo.currentText() == "text"
    out_table = tmp_path / "texts-tagged.csv"
    assert Path(batch.output_edit.text()) == out_table
    with qtbot.waitSignal(batch.succeeded, timeout=60_000):
        batch.run()
    assert "Wrote 3 rows" in batch.status.text() and "1 with an empty text" in batch.status.text()
    rows = list(csv.DictReader(out_table.open(encoding="utf-8")))
    assert rows[0]["tokens"] == "The cats sat in Paris city" and len(rows[0]["tags"].split()) == 6
    assert rows[1]["tags"] == "" and "(LOC)" in rows[2]["entities"] + rows[0]["entities"]
