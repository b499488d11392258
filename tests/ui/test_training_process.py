"""Training in a child process of our own CLI, followed by the GUI (ui/finetune/training_session.py): the
wizard's live plots, Cancel (the child's Ctrl+C) and Resume, a child that dies, closing the window with the
run left going and a reopened app following it again; the GUI process never imports the training stack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from wizard_helpers import (
    click_next,
    drive_to_settings,
    quick_settings,
    stop_training_at_teardown,  # noqa: F401 (a fixture)
    write_reviews,
)

from lmstudio_app.core.training.events import process_alive
from lmstudio_app.core.training.record import LOG_FILE, RunRecord
from lmstudio_app.core.training.runs import new_run_dir, run_info
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune import training_session
from lmstudio_app.ui.finetune.train_view import TrainView
from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard
from lmstudio_app.ui.theme import apply_theme

SHOTS = Path(os.environ.get("LMSTUDIO_SHOTS", "/tmp/shots/training-process"))
STEPS = 40  # the wizard's runs: long enough to cancel in the middle


def click(qtbot, button) -> None:
    assert button.isEnabled() and button.isVisible(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def logged_steps(view: TrainView) -> list[float]:
    return view.curves.points("loss")[0]


def patched_cli() -> list[str]:
    """The CLI with training patched as the test's environment says (tests/ui/patched_cli.py)."""
    return [sys.executable, str(Path(__file__).with_name("patched_cli.py"))]


def start_wizard_run(qtbot, tmp_path: Path, model: Path, steps: int) -> FineTuneWizard:
    wizard = FineTuneWizard(AppState())
    wizard.ask_stop_training = lambda: True  # closing at teardown must never wait for a modal question
    qtbot.addWidget(wizard)
    drive_to_settings(qtbot, wizard, write_reviews(tmp_path / "reviews.csv", n=40))
    quick_settings(wizard, str(model), max_steps=steps, eval_steps=10)
    click_next(qtbot, wizard)
    return wizard


@pytest.mark.usefixtures("stop_training_at_teardown")
def test_the_wizard_follows_a_child_process_that_cancel_stops_and_resume_continues(
    qtbot, tmp_path, tiny_model, monkeypatch, request
):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the child's; two threads on a busy 2-core machine crawl
    gate = tmp_path / "gate"  # the child trains to step 5, then waits while the gate is there
    gate.touch()
    request.addfinalizer(lambda: gate.unlink(missing_ok=True))
    monkeypatch.setenv("LMSTUDIO_TEST_GATE", str(gate))
    monkeypatch.setattr(training_session, "cli_command", patched_cli)
    wizard = start_wizard_run(qtbot, tmp_path, tiny_model("encoder"), steps=STEPS)
    view = wizard.train_page.view
    assert view.state == "running"
    qtbot.waitUntil(lambda: view.session.process is not None, timeout=5_000)  # once the page has painted
    child = view.session.process
    assert child.pid != os.getpid()
    qtbot.waitUntil(lambda: len(logged_steps(view)) >= 5, timeout=120_000)  # the plots move
    run_dir = wizard.ctx.run_dir
    assert RunRecord(run_dir).status()["pid"] == child.pid  # the child trains and owns the run folder
    assert not wizard.button(QWizard.WizardButton.BackButton).isEnabled()
    for theme in ("light", "dark"):
        apply_theme(theme)
        wizard.resize(1024, 700)
        qtbot.wait(200)
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert wizard.grab().save(str(SHOTS / f"train-page-child-process-{theme}.png"))
    apply_theme("light")

    click(qtbot, view.cancel_button)  # the child's Ctrl+C: stop at the next step, keep a checkpoint
    assert view.state == "cancelling" and view.cancel_button.text() == "Stop now"
    gate.unlink()  # the next step may run now
    qtbot.waitUntil(lambda: view.state == "cancelled", timeout=120_000)
    assert child.wait(timeout=30) == 130  # the child ended, as the CLI ends on Ctrl+C
    saved = run_info(run_dir).step
    assert RunRecord(run_dir).checkpoints()[-1].name == f"checkpoint-{saved}" and 5 <= saved < STEPS
    assert f"Cancelled at step {saved}" in view.status.text()

    click(qtbot, view.resume_button)  # a new child: `finetune --resume -o RUN`
    qtbot.waitUntil(lambda: view.session.process is not None, timeout=5_000)
    resumed = view.session.process
    assert resumed.pid != child.pid
    qtbot.waitUntil(lambda: view.state in ("finished", "failed"), timeout=180_000)
    assert view.state == "finished", view.status.text()
    steps = [e["step"] for e in view.session.history if e["type"] == "log"]
    assert steps[0] == saved + 1 and steps[-1] == STEPS and logged_steps(view)[-1] == STEPS
    assert resumed.wait(timeout=30) == 0
    click_next(qtbot, wizard)
    assert f"{wizard.ctx.result.metrics['eval_accuracy']:.3f}" in wizard.results_page.view.summary.text()


def test_the_gui_process_does_not_import_the_training_stack(tmp_path, tiny_model):
    """Checked in a fresh interpreter that starts as the app does (torch and transformers behind the splash),
    trains from the wizard in a child process and opens the Results page."""
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pathlib import Path
        from wizard_helpers import write_reviews
        from lmstudio_app.ui.app import make_application
        from lmstudio_app.ui.app_state import AppState
        from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard
        from lmstudio_app.ui.startup import preload_stack

        app = make_application()
        preload_stack(app, "minilm-mlm").close()

        def wait(condition, timeout=300):
            end = time.monotonic() + timeout
            while not condition():
                assert time.monotonic() < end, "timed out"
                app.processEvents()
                time.sleep(0.005)

        wizard = FineTuneWizard(AppState())
        wizard.show()
        wizard.open_file(write_reviews(Path({str(tmp_path)!r}) / "reviews.csv", n=24))
        for page in ("data_page", "columns_page", "split_page", "choose_page"):
            wait(getattr(wizard, page).isComplete)
            wizard.next()
        settings = wizard.settings_page
        wait(lambda: settings.isComplete() and not settings.measuring)
        settings.model_combo.setCurrentText({str(tiny_model("encoder"))!r})
        settings.max_steps.setValue(4)
        settings.patience.setValue(0)
        wizard.next()
        view = wizard.train_page.view
        wait(lambda: view.state != "running")
        assert view.state == "finished", view.status.text()
        wizard.next()
        wait(lambda: bool(wizard.results_page.view.summary.text()))
        print("IMPORTED", sorted(m for m in ("transformers.trainer", "lmstudio_app.core.finetune.job",
              "transformers.training_args") if m in sys.modules))
        """
    )
    env = {**os.environ, "LMSTUDIO_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "IMPORTED []" in done.stdout, done.stdout


def fake_cli(tmp_path: Path, body: str) -> list[str]:
    """A stand-in for the CLI in the child process: `body` runs instead of training."""
    script = tmp_path / "fake_cli.py"
    script.write_text(textwrap.dedent(body), encoding="utf-8")
    return [sys.executable, str(script)]


def test_a_child_that_dies_without_an_end_is_a_failure_with_its_last_words(qtbot, tmp_path, monkeypatch):
    command = fake_cli(
        tmp_path,
        """
        import sys
        print("[ 5%] Preparing", file=sys.stderr)
        print("RuntimeError: CUDA error: an illegal memory access was encountered", file=sys.stderr)
        sys.exit(1)
        """,
    )
    monkeypatch.setattr(training_session, "cli_command", lambda: command)
    view = TrainView()
    qtbot.addWidget(view)
    run_dir = new_run_dir("dies", tmp_path / "runs")
    view.start_resume(run_dir)
    qtbot.waitUntil(lambda: view.state != "running", timeout=60_000)
    assert view.state == "failed"
    assert view.status.text() == (
        "Training failed: the training process ended without finishing (exit status 1): RuntimeError: CUDA "
        "error: an illegal memory access was encountered"
    )
    assert f"The training process's output: {run_dir / LOG_FILE}" in view.log.toPlainText()
    assert not view.resume_button.isHidden()


@pytest.mark.parametrize(
    ("ignored", "status"),
    [("SIGINT", -signal.SIGTERM), ("SIGINT, signal.SIGTERM", -signal.SIGKILL)],
    ids=["ends-on-sigterm", "killed-after-the-grace"],
)
def test_a_second_cancel_ends_a_child_that_does_not_stop(
    qtbot, tmp_path, monkeypatch, request, ignored, status
):
    command = fake_cli(
        tmp_path,
        f"""
        import signal, sys, time
        for sig in (signal.{ignored},):
            signal.signal(sig, signal.SIG_IGN)  # busy in a step that does not end
        print("started", file=sys.stderr, flush=True)
        time.sleep(600)
        """,
    )
    monkeypatch.setattr(training_session, "cli_command", lambda: command)
    monkeypatch.setattr(training_session, "KILL_AFTER_MS", 300)
    monkeypatch.setattr(training_session, "TERM_GRACE_MS", 300)
    view = TrainView()
    qtbot.addWidget(view)
    view.show()
    run_dir = new_run_dir("stuck", tmp_path / "runs")
    view.start_resume(run_dir)
    qtbot.waitUntil(lambda: view.session.process is not None, timeout=5_000)
    child = view.session.process
    request.addfinalizer(lambda: child.poll() is None and child.kill())
    qtbot.waitUntil(lambda: "started" in (run_dir / LOG_FILE).read_text(), timeout=60_000)
    click(qtbot, view.cancel_button)
    qtbot.wait(500)
    assert view.state == "cancelling" and child.poll() is None  # it ignores the first
    click(qtbot, view.cancel_button)  # "Stop now"
    qtbot.waitUntil(lambda: view.state == "cancelled", timeout=30_000)
    assert child.wait(timeout=10) == status and not process_alive(child.pid)


@pytest.mark.usefixtures("stop_training_at_teardown")
def test_a_run_left_running_at_close_is_followed_again_by_a_reopened_app(
    qtbot, tmp_path, tiny_model, monkeypatch, request
):
    from lmstudio_app.ui.main_window import MainWindow

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    gate = tmp_path / "gate"  # the child trains to step 5, then waits while the gate is there
    gate.touch()
    request.addfinalizer(lambda: gate.unlink(missing_ok=True))  # a failing test must not leave it waiting
    monkeypatch.setenv("LMSTUDIO_TEST_GATE", str(gate))
    monkeypatch.setattr(training_session, "cli_command", patched_cli)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    panel = window.panels["Fine-tune"]
    window.tabs.setCurrentWidget(panel)
    click(qtbot, panel.buttons["New fine-tune…"])
    wizard = panel.wizard
    wizard.ask_stop_training = lambda: True
    drive_to_settings(qtbot, wizard, write_reviews(tmp_path / "reviews.csv", n=40))
    quick_settings(wizard, str(tiny_model("encoder")), max_steps=STEPS, eval_steps=10)
    click_next(qtbot, wizard)
    view, run_dir = wizard.train_page.view, wizard.ctx.run_dir
    qtbot.waitUntil(lambda: len(logged_steps(view)) >= 5, timeout=120_000)
    child = view.session.process

    asked = []
    panel.ask_close_during_training = lambda: asked.append(1) or "leave"
    window.close()
    assert not window.isVisible() and asked == [1]
    assert not training_session.active_sessions() and child.poll() is None  # not followed, still training

    reopened = MainWindow()  # the app opened again
    qtbot.addWidget(reopened)
    reopened.resize(1024, 700)
    reopened.show()
    panel = reopened.panels["Fine-tune"]
    panel.ask_close_during_training = lambda: "stop"  # at teardown: never a modal question
    reopened.tabs.setCurrentWidget(panel)
    assert panel.runs.select_path(run_dir)
    row = next(i for i, r in enumerate(panel.runs.runs) if r.path == run_dir)
    assert panel.runs.item(row, 1).text() == "running" and panel.buttons["Follow"].isEnabled()
    assert not panel.buttons["Resume"].isEnabled() and not panel.buttons["Delete"].isEnabled()
    for theme in ("light", "dark"):
        apply_theme(theme)
        qtbot.wait(200)
        assert reopened.grab().save(str(SHOTS / f"runs-list-running-run-{theme}.png"))
    apply_theme("light")
    click(qtbot, panel.buttons["Follow"])
    dialog = panel.dialogs[-1]
    assert dialog.train_view.state == "running" and "Following" in dialog.train_view.log.toPlainText()
    assert not panel.buttons["Follow"].isEnabled()  # followed here now
    assert logged_steps(dialog.train_view) == [1, 2, 3, 4, 5]  # its history so far
    gate.unlink()
    qtbot.waitUntil(lambda: dialog.train_view.state in ("finished", "failed"), timeout=180_000)
    assert dialog.train_view.state == "finished", dialog.train_view.status.text()
    assert dialog.stack.currentWidget() is dialog.results_view  # the Results, as after a run of this window
    steps = logged_steps(dialog.train_view)
    assert steps == list(range(1, STEPS + 1))  # the history, then live, no step twice
    assert child.wait(timeout=30) == 0


@pytest.mark.parametrize(
    ("theme", "clicked", "answer"), [("light", "Leave running", "leave"), ("dark", "Stop training", "stop")]
)
def test_closing_during_training_asks_stop_leave_running_or_cancel(qtbot, theme, clicked, answer):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from lmstudio_app.ui.finetune.panel import FineTunePanel

    apply_theme(theme)
    panel = FineTunePanel(AppState())
    qtbot.addWidget(panel)
    seen: dict = {}

    def answer_it() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen["buttons"] = [b.text() for b in box.buttons()]
        seen["text"] = box.text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        assert box.grab().save(str(SHOTS / f"close-question-{theme}.png"))
        qtbot.mouseClick(next(b for b in box.buttons() if b.text() == clicked), Qt.MouseButton.LeftButton)

    QTimer.singleShot(300, answer_it)
    assert panel.ask_close_during_training() == answer
    apply_theme("light")
    assert sorted(seen["buttons"]) == ["Cancel", "Leave running", "Stop training"]
    assert "keeps a checkpoint" in seen["text"] and "Follow shows it live" in seen["text"]


def test_cancel_before_the_process_has_started_starts_none(qtbot, tmp_path, monkeypatch):
    started = tmp_path / "started"
    monkeypatch.setattr(
        training_session, "cli_command", lambda: fake_cli(tmp_path, f"open({str(started)!r}, 'w')")
    )
    view = TrainView()
    qtbot.addWidget(view)
    view.show()
    view.start_resume(new_run_dir("quick", tmp_path / "runs"))
    click(qtbot, view.cancel_button)  # within START_AFTER_MS of the start
    assert view.state == "cancelled" and view.session.process is None
    qtbot.wait(training_session.START_AFTER_MS + 300)
    assert view.session.process is None and not started.exists()
