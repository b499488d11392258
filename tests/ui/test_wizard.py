"""The fine-tuning wizard end to end with the embedded MiniLM: file -> columns -> split -> train -> results."""

from __future__ import annotations

import csv
import json
import sys
import time

import pytest
from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWizard
from wizard_helpers import (
    click_next,
    drive_to_settings,
    next_enabled,
    pass_choose_page,
    quick_settings,
    stop_training_at_teardown,  # noqa: F401 (a fixture)
    write_reviews,
)

from lmstudio_app.core.models.registry import HEAD_CLS
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard


class StallMeter:
    """Longest gap between ticks of a 5 ms timer: how long the GUI thread was busy at a stretch."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.longest_ms = 0
        self.timer = QTimer(interval=5, timeout=self._tick)

    def start(self) -> None:
        self.clock.start()
        self.timer.start()

    def _tick(self) -> None:
        self.longest_ms = max(self.longest_ms, self.clock.restart())


@pytest.mark.slow
@pytest.mark.usefixtures("stop_training_at_teardown")
def test_wizard_from_file_to_results_with_minilm(qtbot, tmp_path, minilm_dir):
    from sklearn.metrics import confusion_matrix

    from lmstudio_app.core.data.labeled import suggest_max_length
    from lmstudio_app.core.finetune.predict import predict_texts

    app = AppState()
    wizard = FineTuneWizard(app)
    wizard.ask_stop_training = lambda: True  # closing at teardown must never wait for a modal question
    qtbot.addWidget(wizard)
    data = write_reviews(tmp_path / "reviews.csv", n=40)

    # Data: what was detected, the preview, no problems.
    drive_to_settings(qtbot, wizard, data)
    page = wizard.data_page
    assert "41 rows" in page.detected.text() and "utf-8" in page.detected.text()
    assert "comma-separated" in page.detected.text()
    assert page.preview_model.rowCount() == 41
    assert page.problems.text() == "No problems found."

    # Columns: guessed, counted, the case/space variant offered as a merge, the empty row counted.
    columns = wizard.columns_page
    assert (columns.text_combo.currentText(), columns.label_combo.currentText()) == ("text", "label")
    assert "40 examples" in columns.summary.text() and "2 classes" in columns.summary.text()
    assert "1 row dropped" in columns.summary.text()
    assert "'Positive '" in columns.variants.text() and not columns.merge_box.isHidden()
    assert columns.chart.series == {"examples": {"negative": 20, "positive": 20}}

    # Split: 20 % of each class held out.
    split = wizard.split_page
    assert "32</b> training and <b>8</b> validation" in split.summary.text()
    assert [[split.table.item(r, c).text() for c in range(3)] for r in range(2)] == [
        ["negative", "16", "4"],
        ["positive", "16", "4"],
    ]

    # Settings: the embedded MiniLM by default, max length suggested from the measured token lengths.
    settings = wizard.settings_page
    assert settings.model_combo.currentText() == "all-MiniLM-L6-v2"
    offered = [settings.model_combo.itemText(i) for i in range(settings.model_combo.count())]
    assert "minilm-mlm" in offered and "minilm-clm" not in offered  # the embedded decoder is no base here
    assert len(settings.histogram.lengths) == 40
    assert settings.max_length.value() == suggest_max_length(settings.histogram.lengths)
    assert "would be truncated" in settings.length_note.text()
    assert wizard.button(QWizard.WizardButton.NextButton).text() == "Train"
    quick_settings(wizard, "all-MiniLM-L6-v2", max_steps=4, eval_steps=4)

    # Train: live curves, progress, Back disabled while it runs; the GUI thread never stalls for long.
    meter = StallMeter()
    meter.start()
    click_next(qtbot, wizard)
    view = wizard.train_page.view
    assert view.state == "running", (wizard.currentId(), settings.message.text())
    assert not wizard.button(QWizard.WizardButton.BackButton).isEnabled()
    assert not next_enabled(wizard)
    qtbot.waitUntil(lambda: view.state != "running", timeout=180_000)
    meter.timer.stop()
    assert view.state == "finished", view.status.text()
    print(f"longest GUI stall while training: {meter.longest_ms} ms")
    xs, ys = view.curves.points("loss")
    assert xs == [1.0, 2.0, 3.0, 4.0] and all(y > 0 for y in ys)
    assert view.curves.points("eval_accuracy")[0]
    assert view.progress.value() == 1000 and "Finished" in view.status.text()
    assert "samples/s" in view.speed.text() and "ETA" not in view.speed.text()
    assert "Click “Results”" in view.status.text()  # the words of the button that leads on
    assert wizard.button(QWizard.WizardButton.NextButton).text() == "Results"
    assert wizard.button(QWizard.WizardButton.BackButton).isEnabled()

    # Results: scores, per-class table and the confusion matrix as scikit-learn computes it.
    click_next(qtbot, wizard)
    results = wizard.results_page.view
    result = wizard.ctx.result
    assert f"{result.metrics['eval_accuracy']:.3f}" in results.summary.text()
    assert results.per_class.rowCount() == 2 and results.per_class.item(0, 0).text() == "negative"
    val = wizard.ctx.val
    predicted = [label for label, _ in predict_texts(result.model_dir, val.texts)]
    expected = confusion_matrix(val.labels, predicted, labels=result.labels).tolist()
    assert results.displayed_confusion() == expected
    assert results.mistakes.rowCount() == sum(t != p for t, p in zip(val.labels, predicted, strict=True))

    # Try it.
    results.try_edit.setText("what a wonderful film")
    qtbot.waitUntil(lambda: "→" in results.try_result.text(), timeout=30_000)
    assert all(label in results.try_result.text() for label in result.labels)  # every class's probability
    assert results.try_result.text().count("%") == len(result.labels)

    # Copy as command: the CLI line for the same job.
    command = results.copy_command()
    assert QGuiApplication.clipboard().text() == command
    assert (
        command.startswith("lmstudio-app finetune -m all-MiniLM-L6-v2 --csv") and "--max-steps 4" in command
    )

    # Batch-predict another CSV.
    other = tmp_path / "other.csv"
    other.write_text("id,text\n1,i love it\n2,awful play\n3,good book\n", encoding="utf-8")
    out = tmp_path / "predicted.csv"
    with qtbot.waitSignal(results.action_finished, timeout=30_000) as done:
        results.batch_predict(other, "text", out)
    assert done.args[1], done.args[0]
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 3 and all(r["predicted_label"] in result.labels for r in rows)

    # Save as a Hugging Face folder and an accelerate script.
    saved = tmp_path / "my-classifier"
    with qtbot.waitSignal(results.action_finished, timeout=30_000) as done:
        results.save_folder(saved)
    assert done.args[1], done.args[0]
    config = json.loads((saved / "config.json").read_text(encoding="utf-8"))
    assert set(config["label2id"]) == {"negative", "positive"}
    script = results.save_accelerate_script(tmp_path / "run.sh").read_text(encoding="utf-8")
    assert "accelerate launch" in script and "finetune" in script

    # Load into the model manager: the other panels see a classifier.
    with qtbot.waitSignal(app.models_changed, timeout=60_000):
        results.load_into_manager()
    [loaded] = app.models_with(HEAD_CLS)
    assert loaded.path == result.model_dir and loaded.name == wizard.ctx.settings["name"]
    wizard.grab().save(str(tmp_path / "results.png"))


def test_columns_page_blocks_one_class_and_same_column(qtbot, tmp_path):
    data = tmp_path / "one_class.csv"
    data.write_text(
        "text,label,other\n" + "".join(f"row {i},spam,x{i % 2}\n" for i in range(6)), encoding="utf-8"
    )
    wizard = FineTuneWizard(AppState())
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.open_file(data)
    qtbot.waitUntil(wizard.data_page.isComplete, timeout=20_000)
    click_next(qtbot, wizard)
    columns = wizard.columns_page
    qtbot.waitUntil(lambda: not columns.busy, timeout=20_000)
    assert "Only one class" in columns.messages.text() and "spam" in columns.messages.text()
    assert not next_enabled(wizard)
    columns.set_columns("text", "text")
    assert "must be different" in columns.messages.text() and not next_enabled(wizard)
    columns.set_columns("text", "other")
    qtbot.waitUntil(columns.isComplete, timeout=20_000)
    assert "2 classes" in columns.summary.text() and next_enabled(wizard)
    start = time.monotonic()
    click_next(qtbot, wizard)
    qtbot.waitUntil(lambda: not wizard.split_page.busy, timeout=20_000)
    assert time.monotonic() - start < 20
    assert "only 2 training examples" in wizard.split_page.messages.text()

    # A separate validation file: it must have the chosen columns; then its counts are shown.
    split = wizard.split_page
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("sentence,other\nhello,x0\n", encoding="utf-8")
    split.use_validation_file(wrong)
    qtbot.waitUntil(lambda: not split.busy, timeout=20_000)
    assert "'text' is not in wrong.csv" in split.messages.text().replace("&#x27;", "'") and not next_enabled(
        wizard
    )
    right = tmp_path / "val.csv"
    right.write_text("text,other\nhello,x0\nbye,x1\nagain,x1\n", encoding="utf-8")
    split.use_validation_file(right)
    qtbot.waitUntil(lambda: not split.busy, timeout=20_000)
    assert "6</b> training and <b>3</b> validation" in split.summary.text() and next_enabled(wizard)
    assert [[split.table.item(r, c).text() for c in range(3)] for r in range(2)] == [
        ["x0", "3", "1"],
        ["x1", "3", "2"],
    ]


@pytest.mark.usefixtures("stop_training_at_teardown")
def test_out_of_memory_retry_is_shown_in_the_log(qtbot, tmp_path, tiny_model, monkeypatch):
    from pathlib import Path

    from lmstudio_app.ui.finetune import training_session

    # Training runs in a child process: its CLI is started with a forward that runs out of memory above 4 rows.
    monkeypatch.setenv("LMSTUDIO_TEST_OOM_ROWS", "4")
    patched = [sys.executable, str(Path(__file__).with_name("patched_cli.py"))]
    monkeypatch.setattr(training_session, "cli_command", lambda: patched)
    wizard = FineTuneWizard(AppState())
    wizard.ask_stop_training = lambda: True
    qtbot.addWidget(wizard)
    drive_to_settings(qtbot, wizard, write_reviews(tmp_path / "reviews.csv", n=24))
    quick_settings(wizard, str(tiny_model("encoder")), max_steps=2, eval_steps=2, batch=8)
    wizard.settings_page.lr.setCurrentText("fast")
    click_next(qtbot, wizard)
    assert wizard.currentPage() is wizard.settings_page
    assert "learning rate must be a number" in wizard.settings_page.message.text()
    wizard.settings_page.lr.setCurrentText("5e-5")
    click_next(qtbot, wizard)
    view = wizard.train_page.view
    qtbot.waitUntil(lambda: view.state != "running", timeout=60_000)
    assert view.state == "finished", view.status.text()
    log = view.log.toPlainText()
    assert "Out of memory" in log and "batch size 4, gradient accumulation 2" in log
    assert view.session.oom_retries == 1 and wizard.ctx.result.metrics["global_step"] == 2


@pytest.mark.usefixtures("stop_training_at_teardown")
def test_sentence_pairs_train_and_show_the_second_text(qtbot, tmp_path, tiny_model):
    rows = ["question,answer,label"]
    for i in range(24):
        rows.append(f"is the cat on the mat {i},yes it is,{'match' if i % 2 else 'other'}")
    data = tmp_path / "pairs.csv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    wizard = FineTuneWizard(AppState())
    wizard.ask_stop_training = lambda: True
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.open_file(data)
    qtbot.waitUntil(wizard.data_page.isComplete, timeout=20_000)
    click_next(qtbot, wizard)
    columns = wizard.columns_page
    qtbot.waitUntil(columns.isComplete, timeout=20_000)
    columns.set_columns("question", "label", pair="answer")
    qtbot.waitUntil(columns.isComplete, timeout=20_000)
    assert wizard.ctx.data.pairs is not None and wizard.ctx.data.pairs[0] == "yes it is"
    click_next(qtbot, wizard)
    qtbot.waitUntil(wizard.split_page.isComplete, timeout=20_000)
    click_next(qtbot, wizard)
    pass_choose_page(qtbot, wizard)
    settings = wizard.settings_page
    quick_settings(wizard, str(tiny_model("encoder")), max_steps=2, eval_steps=2)
    settings.model_combo.lineEdit().editingFinished.emit()  # as when the user leaves the box
    qtbot.waitUntil(lambda: not settings.measuring, timeout=30_000)
    assert min(settings.histogram.lengths) >= 12  # [CLS] question [SEP] answer [SEP]: both texts counted
    click_next(qtbot, wizard)
    view = wizard.train_page.view
    qtbot.waitUntil(lambda: view.state != "running", timeout=60_000)
    assert view.state == "finished", view.status.text()
    click_next(qtbot, wizard)
    results = wizard.results_page.view
    assert results.per_class.rowCount() == 2
    headers = [results.mistakes.horizontalHeaderItem(c).text() for c in range(results.mistakes.columnCount())]
    if results.mistakes.rowCount():
        assert headers == ["Text", "Second text", "True", "Predicted", "Score"]
        assert results.mistakes.item(0, 1).text() == "yes it is"


def test_label_variants_merge_can_be_turned_off(qtbot, tmp_path):
    wizard = FineTuneWizard(AppState())
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.open_file(write_reviews(tmp_path / "reviews.csv", n=20))
    qtbot.waitUntil(wizard.data_page.isComplete, timeout=20_000)
    click_next(qtbot, wizard)
    columns = wizard.columns_page
    qtbot.waitUntil(columns.isComplete, timeout=20_000)
    assert "2 classes" in columns.summary.text() and "are merged" in columns.variants.text()
    columns.merge_box.setChecked(False)
    qtbot.waitUntil(columns.isComplete, timeout=20_000)
    assert "3 classes" in columns.summary.text() and "would be merged" in columns.variants.text()
    assert set(columns.chart.series["examples"]) == {"negative", "positive", "Positive "}
    columns.merge_box.setChecked(True)
    qtbot.waitUntil(columns.isComplete, timeout=20_000)
    assert "2 classes" in columns.summary.text() and wizard.ctx.data.merged == {"Positive ": "positive"}
