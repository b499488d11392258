"""Word-tagging runs in the Fine-tune tab: listed with their own figures, opened into their real results
(scores, confusion, Try it, Save, Copy as command), and a cancelled one resumed from the runs list."""

from __future__ import annotations

import json
import random

import pytest
from PySide6.QtGui import QGuiApplication
from tagging_helpers import rule_sentence
from wizard_helpers import stop_training_at_teardown  # noqa: F401 (a fixture)

from lmstudio_app.core.tokens.settings import TokenResult
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.panel import FineTunePanel


def row_of(panel, run_dir) -> int:
    return next(r for r, run in enumerate(panel.runs.runs) if run.path == run_dir)


def test_a_tagging_run_is_listed_with_its_figures_and_opens_its_results(qtbot, tmp_path, tagger_run):
    result = TokenResult.load(tagger_run)
    panel = FineTunePanel(AppState())
    qtbot.addWidget(panel)
    panel.show()
    row = row_of(panel, tagger_run)
    assert panel.runs.item(row, 2).text() == "token tagging"
    assert panel.runs.item(row, 5).text() == f"{result.metrics['eval_token_accuracy']:.3f}"
    assert panel.runs.item(row, 6).text() == f"{result.metrics['eval_f1']:.3f}"
    assert panel.runs.item(row, 6).toolTip() == "entity F1 (seqeval)"
    panel.runs.select_path(tagger_run)
    dialog = panel.open_results()
    assert type(dialog).__name__ == "TokenRunDialog" and "Word-tagging run" in dialog.windowTitle()
    qtbot.waitUntil(lambda: dialog.stack.currentWidget() is dialog.results_view, timeout=20_000)
    view = dialog.results_view
    assert {view.per_type.item(r, 0).text() for r in range(view.per_type.rowCount())} == {"ANI", "LOC"}
    assert view.displayed_confusion() == result.confusion
    view.tabs.setCurrentWidget(view.try_view)
    view.try_view.input.setPlainText("a dog in London")
    qtbot.waitUntil(lambda: view.try_view.last is not None, timeout=30_000)
    assert [c.label for c in view.try_view.text.chips] == [e["label"] for e in view.try_view.last.entities]
    command = view.actions.copy_command()
    assert command.startswith("lmstudio-app finetune --task tokens --data ") and "--max-length 32" in command
    assert QGuiApplication.clipboard().text() == command and "--lr 0.005" in command
    with qtbot.waitSignal(view.actions.action_finished, timeout=30_000) as done:
        view.actions.save_folder(tmp_path / "tagger")
    assert done.args[1] and (tmp_path / "tagger" / "tokens.json").is_file()
    dialog.close()


@pytest.mark.usefixtures("stop_training_at_teardown")
def test_a_cancelled_tagging_run_resumes_from_the_runs_list(qtbot, tmp_path, tiny_model):
    from lmstudio_app.core.tasks import Cancelled, TaskState
    from lmstudio_app.core.tokens.files import TokenDataPlan
    from lmstudio_app.core.tokens.job import train_tagger
    from lmstudio_app.core.tokens.settings import TokenSettings
    from lmstudio_app.core.training.runs import new_run_dir

    rng = random.Random(1)
    data = tmp_path / "rule.jsonl"
    data.write_text(
        "".join(
            json.dumps(dict(zip(("tokens", "tags"), rule_sentence(rng, 6), strict=True))) + "\n"
            for _ in range(60)
        ),
        encoding="utf-8",
    )
    plan = TokenDataPlan(str(data), None, 0.2, 0)
    train, val = plan.build()
    state = TaskState()
    settings = TokenSettings(
        base_model=str(tiny_model("encoder")), max_steps=6, eval_steps=3, patience=0, max_length=16,
        batch_size=8, precision="fp32", name="tagger-to-resume",
    )  # fmt: skip
    run_dir = new_run_dir(settings.name)
    with pytest.raises(Cancelled):
        train_tagger(
            train, val, settings, run_dir, state=state, plan=plan,
            on_event=lambda e: state.request_stop() if e["type"] == "log" and e["step"] == 2 else None,
        )  # fmt: skip
    panel = FineTunePanel(AppState())
    qtbot.addWidget(panel)
    panel.show()
    assert panel.runs.item(row_of(panel, run_dir), 1).text() == "cancelled (resumable)"
    panel.runs.select_path(run_dir)
    assert panel.buttons["Resume"].isEnabled()
    dialog = panel.resume()
    view = dialog.train_view
    assert type(view).__name__ == "TokenTrainView"
    qtbot.waitUntil(lambda: view.state in ("finished", "failed"), timeout=120_000)
    assert view.state == "finished", view.status.text()
    assert "token accuracy" in view.status.text()
    steps = [e["step"] for e in view.session.history if e["type"] == "log"]
    assert steps[0] > 1 and steps[-1] == 6
    assert dialog.stack.currentWidget() is dialog.results_view
    assert dialog.results_view.per_tag.rowCount() == len(dialog.results_view.result.tags)


def test_tagging_a_file_shows_its_progress_and_cancel_stops_it_before_anything_is_written(
    qtbot, tmp_path, tagger_run
):
    from PySide6.QtCore import Qt
    from task_helpers import write_rule_conll

    from lmstudio_app.ui.tokens.try_view import TagTryView

    view = TagTryView()
    qtbot.addWidget(view)
    view.set_model(TokenResult.load(tagger_run).model_dir, ["O", "B-ANI", "B-LOC", "I-LOC"])
    big = tmp_path / "big.conll"
    write_rule_conll(big, sentences=6000)
    out = tmp_path / "big-tagged.conll"
    worker = view.batch.start(big, out)
    assert (
        worker is not None and not view.batch.run_button.isEnabled() and view.batch.cancel_button.isEnabled()
    )
    qtbot.waitUntil(lambda: view.batch.progress.value() > 0 or worker.done, timeout=60_000)
    assert "windows" in view.batch.status.text()  # "Tagged 320 of 6,000 windows"
    qtbot.mouseClick(view.batch.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: worker.done and view.batch.run_button.isEnabled(), timeout=60_000)
    assert view.batch.status.text() == "Cancelled: nothing was written." and not out.exists()
