"""Distil… on a classifier's Results: the options, the student's run window (training, then its results),
the run in the runs list, and screenshots of both in the light and dark themes at 1024x700."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from wizard_helpers import stop_training_at_teardown  # noqa: F401 (a fixture)

from lmstudio_app.core.data.labeled import prepare, split
from lmstudio_app.core.data.table import read_table
from lmstudio_app.core.finetune.job import fine_tune
from lmstudio_app.core.finetune.settings import FineTuneResult, FineTuneSettings
from lmstudio_app.core.training.record import RunRecord
from lmstudio_app.ui.finetune.distill_view import (
    DistillOptions,
    DistillRunDialog,
    StudentChoice,
    open_distillation,
)
from lmstudio_app.ui.finetune.panel import FineTunePanel, dialog_class
from lmstudio_app.ui.finetune.results_view import ResultsView
from lmstudio_app.ui.theme import apply_theme
from tests.distill_helpers import rule_csv, tiny_bert

SHOTS = Path(os.environ.get("LMSTUDIO_SHOTS", "/tmp/shots/distill"))


@pytest.fixture
def teacher_run(tmp_path, monkeypatch):
    """A finished fine-tune of a tiny 6-layer BERT in the runs folder of a fresh data folder."""
    monkeypatch.setenv("LMSTUDIO_HOME", str(tmp_path / "home"))
    data = prepare(read_table(rule_csv(tmp_path / "rule.csv", 48)), "text", "label")
    train, val = split(data, 0.25, seed=0)
    settings = FineTuneSettings(
        base_model=str(tiny_bert(tmp_path / "base")),
        max_steps=4,
        batch_size=8,
        max_length=32,
        patience=0,
        precision="fp32",
        device="cpu",
        learning_rate=3e-3,
        name="teacher",
    )
    return fine_tune(train, val, settings, tmp_path / "home" / "runs" / "teacher")


def _shoot(qtbot, widget, name: str) -> None:
    """The widget in the light and the dark theme (the palette's change events handled first)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for theme in ("light", "dark"):
        apply_theme(theme)
        qtbot.wait(150)
        assert widget.grab().save(str(SHOTS / f"{name}-{theme}.png"))
    apply_theme("light")
    qtbot.wait(50)


def test_options_offer_the_teachers_layers_and_the_losss_settings(qtbot):
    options = DistillOptions(6, 3.0)
    qtbot.addWidget(options)
    options.show()
    assert (options.layers.minimum(), options.layers.maximum(), options.layers.value()) == (1, 5, 3)
    assert options.layers.text() == "3 of 6"
    options.temperature.setValue(4.0)
    options.alpha.setValue(0.8)
    assert options.choice() == StudentChoice(3, 4.0, 0.8, 3.0)
    _shoot(qtbot, options, "options")


@pytest.mark.usefixtures("stop_training_at_teardown")
def test_distil_trains_a_student_run_and_shows_its_results(qtbot, teacher_run):
    view = ResultsView()
    qtbot.addWidget(view)
    view.set_result(FineTuneResult.load(teacher_run.run_dir))
    button = view.buttons["Distil…"]
    assert button.isEnabled() and "smaller, faster student" in button.toolTip()

    dialog = open_distillation(view, StudentChoice(layers=2, temperature=2.0, alpha=0.5, epochs=1.0))
    qtbot.addWidget(dialog)
    assert isinstance(dialog, DistillRunDialog) and "Distilling into" in view.status.text()
    dialog.resize(1024, 700)
    train_view = dialog.train_view
    qtbot.waitUntil(lambda: train_view.state in ("finished", "failed"), timeout=120_000)
    assert train_view.state == "finished", train_view.status.text()
    assert "agreement with the teacher" in train_view.status.text()
    qtbot.waitUntil(lambda: dialog.stack.currentWidget() is dialog.results_view, timeout=10_000)
    results = dialog.results_view
    assert results.summary.text().count("Accuracy") == 1 and results.per_class.rowCount() == 2

    saved = RunRecord(dialog.run_dir).saved_settings()
    assert saved.kind == "distill" and dialog.run_dir.parent == Path(teacher_run.run_dir).parent
    assert saved.settings["teacher"] == str(teacher_run.model_dir) and saved.settings["student_layers"] == 2
    assert saved.job["teacher_layers_kept"] == [0, 3]
    assert dialog_class("distill") is DistillRunDialog
    _shoot(qtbot, dialog, "student-results")
    dialog.stack.setCurrentWidget(train_view)
    _shoot(qtbot, dialog, "student-training")

    panel = FineTunePanel(state=None)
    qtbot.addWidget(panel)
    row = next(i for i, r in enumerate(panel.runs.runs) if r.path == dialog.run_dir)
    assert panel.runs.item(row, 2).text() == "distillation"
    assert panel.runs.select_path(dialog.run_dir)
    qtbot.mouseClick(panel.buttons["Open results"], Qt.MouseButton.LeftButton)
    reopened = panel.dialogs[-1]
    assert isinstance(reopened, DistillRunDialog)
    qtbot.waitUntil(lambda: reopened.stack.currentWidget() is reopened.results_view, timeout=10_000)
    panel.resize(1024, 700)
    panel.show()
    _shoot(qtbot, panel, "runs-list")
