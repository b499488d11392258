"""Question-answering runs in the Fine-tune tab: listed with exact match and F1, opened into their real
results (wrong answers, Try it, Copy as command), and a cancelled one resumed from the runs list (its data
read again from the files its settings name)."""

from __future__ import annotations

import pytest
from task_helpers import write_qa_jsonl
from wizard_helpers import stop_training_at_teardown  # noqa: F401 (a fixture)

from lmstudio_app.core.qa.settings import QAResult
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.panel import FineTunePanel

PASSAGE = "on the road the cup is red today"


def row_of(panel, run_dir) -> int:
    return next(r for r, run in enumerate(panel.runs.runs) if run.path == run_dir)


def test_a_qa_run_is_listed_with_its_figures_and_opens_its_results(qtbot, qa_run):
    result = QAResult.load(qa_run)
    panel = FineTunePanel(AppState())
    qtbot.addWidget(panel)
    panel.show()
    row = row_of(panel, qa_run)
    assert panel.runs.item(row, 2).text() == "question answering"
    assert panel.runs.item(row, 5).text() == f"{result.metrics['eval_exact_match']:.3f}"
    assert panel.runs.item(row, 5).toolTip() == "exact match"
    panel.runs.select_path(qa_run)
    dialog = panel.open_results()
    assert type(dialog).__name__ == "QARunDialog"
    qtbot.waitUntil(lambda: dialog.stack.currentWidget() is dialog.results_view, timeout=20_000)
    view = dialog.results_view
    assert f"Exact match <b>{result.metrics['eval_exact_match']:.3f}</b>" in view.summary.text()
    assert view.mistakes.rowCount() == len(result.mistakes)
    tried = view.try_view
    tried.question.setText("the cup")
    tried.passage.setPlainText(PASSAGE)
    tried.answer()
    qtbot.waitUntil(lambda: tried.decoded is not None, timeout=30_000)
    best = tried.decoded.best
    assert tried.passage.marked_texts() == [PASSAGE[best.start : best.end]] and best.text == "red"
    command = view.actions.copy_command()
    assert command.startswith("lmstudio-app finetune --task qa --data ") and "--stride 16" in command
    dialog.close()


@pytest.mark.usefixtures("stop_training_at_teardown")
def test_a_cancelled_qa_run_resumes_from_the_runs_list(qtbot, tmp_path, tiny_model):
    from lmstudio_app.core.qa.data import read_qa, split_by_context
    from lmstudio_app.core.qa.job import train_qa
    from lmstudio_app.core.qa.settings import QASettings
    from lmstudio_app.core.tasks import Cancelled, TaskState
    from lmstudio_app.core.training.runs import new_run_dir

    data = write_qa_jsonl(tmp_path / "train.jsonl", n=60, seed=2)
    settings = QASettings(
        base_model=str(tiny_model("encoder")), max_length=64, stride=16, batch_size=8, max_steps=6,
        eval_steps=3, patience=0, precision="fp32", data=str(data), name="qa-to-resume",
    )  # fmt: skip
    train, val = split_by_context(read_qa(data), settings.val_fraction, settings.seed)
    state = TaskState()
    run_dir = new_run_dir(settings.name)
    with pytest.raises(Cancelled):
        train_qa(
            train, val, settings, run_dir, state=state,
            on_event=lambda e: state.request_stop() if e["type"] == "log" and e["step"] == 2 else None,
        )  # fmt: skip
    panel = FineTunePanel(AppState())
    qtbot.addWidget(panel)
    panel.show()
    panel.runs.select_path(run_dir)
    dialog = panel.resume()
    view = dialog.train_view
    assert type(view).__name__ == "QATrainView"
    qtbot.waitUntil(lambda: view.state in ("finished", "failed"), timeout=120_000)
    assert view.state == "finished", view.status.text()
    assert "exact match" in view.status.text()
    steps = [e["step"] for e in view.session.history if e["type"] == "log"]
    assert steps[0] > 1 and steps[-1] == 6
    assert dialog.stack.currentWidget() is dialog.results_view
    assert "Exact match" in dialog.results_view.summary.text()
