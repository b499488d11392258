"""The Fine-tune tab: closing during training keeps the checkpoint, Resume continues from it, runs list actions."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from wizard_helpers import (
    click_next,
    drive_to_settings,
    quick_settings,
    stop_training_at_teardown,  # noqa: F401 (a fixture)
    write_reviews,
)

from lmstudio_app.core.training.record import RunRecord
from lmstudio_app.core.training.runs import run_info
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.panel import FineTunePanel
from lmstudio_app.ui.finetune.training_session import active_sessions


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


@pytest.mark.usefixtures("stop_training_at_teardown")
def test_close_during_training_then_resume_from_runs_list(qtbot, tmp_path, tiny_model, monkeypatch):
    from lmstudio_app.ui.main_window import MainWindow

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the training process's; 2 threads crawl on a busy 2-core CI

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    panel = window.panels["Fine-tune"]
    window.tabs.setCurrentWidget(panel)
    click(qtbot, panel.buttons["New fine-tune…"])
    wizard = panel.wizard
    wizard.ask_stop_training = lambda: True  # closing at teardown must never wait for a modal question
    drive_to_settings(qtbot, wizard, write_reviews(tmp_path / "reviews.csv", n=40))
    quick_settings(wizard, str(tiny_model("encoder")), max_steps=200, eval_steps=20)
    click_next(qtbot, wizard)
    view = wizard.train_page.view
    qtbot.waitUntil(lambda: view.session.last_log.get("step", 0) >= 5, timeout=60_000)

    # Closing the app asks first; "cancel" keeps training, "stop" stops cleanly and keeps a checkpoint.
    asked = []
    panel.ask_close_during_training = lambda: asked.append(1) or "cancel"
    window.close()
    assert window.isVisible() and view.state == "running" and len(asked) == 1
    panel.ask_close_during_training = lambda: asked.append(1) or "stop"
    window.close()
    assert not window.isVisible() and len(asked) == 2
    assert not active_sessions()  # shutdown() waited for the training process to end
    assert view.session.process.wait(timeout=30) == 130  # it ended as on Ctrl+C
    window.show()
    qtbot.waitUntil(lambda: view.state == "cancelled", timeout=10_000)
    assert "Cancelled at step" in view.status.text() and not view.resume_button.isHidden()
    assert "ETA" not in view.speed.text()  # nothing is left to wait for
    run_dir = wizard.ctx.run_dir
    info = run_info(run_dir)
    saved_step = info.step
    assert info.status == "cancelled" and info.resumable and 5 <= saved_step < 200
    assert RunRecord(run_dir).checkpoints()[-1].name == f"checkpoint-{saved_step}"

    # The runs list shows it as resumable; Resume continues from the saved step to the end.
    panel.refresh()
    assert not panel.message.text().startswith("No runs yet")
    assert panel.runs.select_path(run_dir)
    row = panel.runs.runs.index(next(r for r in panel.runs.runs if r.path == run_dir))
    assert panel.runs.item(row, 1).text() == "cancelled (resumable)"
    assert not panel.buttons["Open results"].isEnabled()
    click(qtbot, panel.buttons["Resume"])
    dialog = panel.dialogs[-1]
    qtbot.waitUntil(lambda: dialog.train_view.state in ("finished", "failed"), timeout=120_000)
    assert dialog.train_view.state == "finished", dialog.train_view.status.text()
    assert not panel.message.text().startswith("Resuming")  # the run has finished
    new_steps = [e["step"] for e in dialog.train_view.session.history if e["type"] == "log"]
    assert new_steps[0] == saved_step + 1 and new_steps[-1] == 200
    steps = [e["step"] for e in RunRecord(run_dir).history() if e["type"] == "log"]
    assert steps == list(range(1, 201))  # nothing repeated, nothing lost
    assert dialog.stack.currentWidget() is dialog.results_view
    assert dialog.results_view.per_class.rowCount() == 2
    assert run_info(run_dir).status == "finished" and not RunRecord(run_dir).checkpoints()
    dialog.grab().save(str(tmp_path / "resumed.png"))

    # Export ONNX from the reopened results.
    onnx_file = tmp_path / "classifier.onnx"
    with qtbot.waitSignal(dialog.results_view.action_finished, timeout=120_000) as done:
        dialog.results_view.export_onnx(onnx_file)
    assert done.args[1], done.args[0]
    assert onnx_file.stat().st_size > 10_000 and "Exported ONNX" in dialog.results_view.status.text()


@pytest.mark.usefixtures("stop_training_at_teardown")
def test_runs_list_open_compare_delete(qtbot, tmp_path, tiny_model):
    from lmstudio_app.core.data.labeled import prepare, split
    from lmstudio_app.core.data.table import read_table
    from lmstudio_app.core.finetune.job import fine_tune
    from lmstudio_app.core.finetune.settings import FineTuneSettings
    from lmstudio_app.core.training.runs import new_run_dir

    table = read_table(write_reviews(tmp_path / "reviews.csv", n=24))
    train, val = split(prepare(table, "text", "label"))
    runs = []
    for i, lr in enumerate((1e-3, 1e-4)):
        settings = FineTuneSettings(
            base_model=str(tiny_model("encoder")),
            max_steps=6,
            eval_steps=3,
            patience=0,
            batch_size=8,
            learning_rate=lr,
            name=f"compare-{i}",
        )
        run_dir = new_run_dir(settings.name)
        fine_tune(train, val, settings, run_dir)
        runs.append(run_dir)

    panel = FineTunePanel(AppState())
    qtbot.addWidget(panel)
    panel.show()
    names = [panel.runs.item(r, 0).text() for r in range(panel.runs.rowCount())]
    assert {"compare-0", "compare-1"} <= set(names)

    panel.runs.select_path(runs[0])
    click(qtbot, panel.buttons["Open results"])
    dialog = panel.dialogs[-1]
    qtbot.waitUntil(lambda: dialog.results_view.result is not None, timeout=20_000)
    assert dialog.results_view.per_class.rowCount() == 2
    assert "Accuracy" in dialog.results_view.summary.text()

    panel.runs.select_path(runs[0])
    panel.runs.select_path(runs[1], add=True)
    assert len(panel.runs.selected_runs()) == 2
    click(qtbot, panel.buttons["Compare"])
    qtbot.waitUntil(lambda: any(type(d).__name__ == "CompareDialog" for d in panel.dialogs), timeout=20_000)
    compare = next(d for d in panel.dialogs if type(d).__name__ == "CompareDialog")
    for name in ("compare-0", "compare-1"):
        assert compare.curves.points("loss", run=name)[0] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        assert compare.curves.points("eval_loss", run=name)[0]
    compare.grab().save(str(tmp_path / "compare.png"))
    # Both windows close with their Close button or with Escape, even with the focus on a plot.
    compare.activateWindow()
    compare.curves.loss_plot.setFocus()
    qtbot.keyClick(compare.curves.loss_plot, Qt.Key.Key_Escape)
    assert not compare.isVisible()
    assert dialog.isVisible()
    click(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Close))
    assert not dialog.isVisible()

    panel.confirm_delete = lambda names: False
    click(qtbot, panel.buttons["Delete"])
    assert all(Path(p).exists() for p in runs)
    panel.confirm_delete = lambda names: True
    click(qtbot, panel.buttons["Delete"])
    assert not any(Path(p).exists() for p in runs)
    assert "Deleted 2 runs" in panel.message.text()


def test_no_runs_hint_goes_away_once_a_run_exists(qtbot, tmp_path, monkeypatch):
    from lmstudio_app.core.training.record import RunRecord
    from lmstudio_app.core.training.runs import new_run_dir
    from lmstudio_app.ui.finetune.panel import NO_RUNS

    monkeypatch.setenv("LMSTUDIO_HOME", str(tmp_path / "home"))
    panel = FineTunePanel(AppState())
    qtbot.addWidget(panel)
    assert panel.message.text() == NO_RUNS
    RunRecord(new_run_dir("first")).write_status("finished")
    panel.refresh()
    assert panel.runs.rowCount() == 1 and panel.message.text() == ""


def test_a_stopped_run_shows_the_accuracy_it_was_evaluated_at(tmp_path):
    from types import SimpleNamespace

    from lmstudio_app.ui.finetune.runs_list import evaluated_metrics

    (tmp_path / "history.jsonl").write_text(
        '{"type": "log", "step": 1, "loss": 0.7}\n{"type": "eval", "step": 20, "eval_accuracy": 0.75}\n',
        encoding="utf-8",
    )
    run = SimpleNamespace(metrics={}, path=tmp_path, status="cancelled")
    metrics, note = evaluated_metrics(run)
    assert metrics["eval_accuracy"] == 0.75 and note == "evaluated at step 20, before the run was cancelled"
    assert evaluated_metrics(
        SimpleNamespace(metrics={"eval_accuracy": 0.9}, path=tmp_path, status="finished")
    ) == (
        {"eval_accuracy": 0.9},
        "",
    )


def test_a_token_tagging_run_is_listed_and_opens_its_own_results(qtbot, tagger_run):
    """Runs of the other job kinds (token tagging, QA) are listed by kind and open their own views, not a
    classifier's (tests/ui/test_tokens_panel.py and test_qa_panel.py go through them)."""
    panel = FineTunePanel(AppState())
    qtbot.addWidget(panel)
    panel.show()
    row = next(r for r in range(panel.runs.rowCount()) if panel.runs.item(r, 0).text() == "ner-rule")
    assert panel.runs.item(row, 2).text() == "token tagging"
    panel.runs.selectRow(row)
    dialog = panel.open_results()
    assert type(dialog).__name__ == "TokenRunDialog" and panel.message.text() == ""
    qtbot.waitUntil(lambda: dialog.results_view.result is not None, timeout=20_000)
    assert "Token accuracy" in dialog.results_view.summary.text()
    dialog.close()
