"""The Fine-tune tab: the runs list (open, resume, compare, delete) and "New fine-tune…" (the wizard)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.training.record import METRICS_FILE, RunRecord
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.run_dialog import RunDialog, add_close
from lmstudio_app.ui.finetune.runs_list import KINDS, RunsList
from lmstudio_app.ui.finetune.training_session import active_sessions
from lmstudio_app.ui.panel import PanelBase
from lmstudio_app.ui.qthreading import Worker
from lmstudio_app.ui.sizing import fit_to_screen
from lmstudio_app.ui.theme import message_style


def _histories_job(run_dirs: list[Path], *, state: Any) -> dict[str, list[dict]]:
    from lmstudio_app.core.training.record import RunRecord
    from lmstudio_app.core.training.runs import run_info

    return {run_info(p).name: RunRecord(p).history() for p in run_dirs}


CLOSE_QUESTION = (
    "A training run is still going, in a process of its own.\n\nStop it: it stops at the next step and keeps "
    "a checkpoint, which Resume continues.\n\nLeave it running: it goes on without the window; the runs list "
    "shows it when the app opens again, and Follow shows it live."
)
# Job kinds this tab has train and results views for.
VIEWED_KINDS = ("finetune", "pretrain", "tokens", "qa", "distill")
NO_RUNS = (
    "No runs yet: click “New fine-tune…” to train a classifier on your own table, a word tagger (NER, POS) "
    "or a question-answering model."
)


class FineTuneRunDialog(RunDialog):
    """A fine-tune run from the runs list."""

    def __init__(self, app: AppState, run_dir: Path, parent: QWidget | None = None) -> None:
        from lmstudio_app.core.finetune.settings import FineTuneResult
        from lmstudio_app.ui.finetune.results_view import ResultsView
        from lmstudio_app.ui.finetune.train_view import TrainView

        super().__init__(run_dir, (TrainView(), ResultsView(app)), FineTuneResult.load, parent)
        self.setWindowTitle(f"Run {self.run_dir.name}")


def dialog_class(kind: str) -> type[RunDialog]:
    """The run dialog (train and results views) of a job kind."""
    if kind == "pretrain":
        from lmstudio_app.ui.pretrain.wizard import PretrainRunDialog

        return PretrainRunDialog
    if kind == "tokens":
        from lmstudio_app.ui.tokens.results_view import TokenRunDialog

        return TokenRunDialog
    if kind == "qa":
        from lmstudio_app.ui.qa.results_view import QARunDialog

        return QARunDialog
    if kind == "distill":
        from lmstudio_app.ui.finetune.distill_view import DistillRunDialog

        return DistillRunDialog
    return FineTuneRunDialog


class CompareDialog(QDialog):
    """The curves of several runs overlaid, one colour per run."""

    def __init__(self, histories: dict[str, list[dict]], parent: QWidget | None = None) -> None:
        from lmstudio_app.ui.widgets.loss_curves import LossCurves

        super().__init__(parent)
        self.setWindowTitle("Compare runs: " + " vs ".join(histories))
        fit_to_screen(self, QSize(1000, 420))
        self.curves = LossCurves()
        self.curves.set_runs(histories)
        layout = QVBoxLayout(self)
        layout.addWidget(self.curves)
        self.buttons = add_close(self, layout)


class FineTunePanel(PanelBase, QWidget):
    """Runs list and the wizard; `may_close()`/`shutdown()` keep a closing app from losing a training run."""

    title = "Fine-tune"

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.wizard: Any = None
        self.dialogs: list[QDialog] = []
        self._on_close = "stop"  # what closing the app does to the runs still training: "stop" or "leave"
        self.runs = RunsList()
        self.runs.itemSelectionChanged.connect(self._update_buttons)
        self.runs.doubleClicked.connect(
            lambda _i: self.follow() if self._running_one() else self.open_results()
        )
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for label, tip, slot in [
            (
                "New fine-tune…",
                "Train on your own data, step by step: labels for texts, tags for words (NER, POS), or answers "
                "from passages (the wizard's first page asks which)",
                self.new_fine_tune,
            ),
            ("New pre-training…", "Continue masked-LM pre-training on your own text", self.new_pretraining),
            (
                "Open results",
                "Scores, confusion matrix and exports of the selected finished run",
                self.open_results,
            ),
            ("Resume", "Continue the selected cancelled run from its checkpoint", self.resume),
            (
                "Follow",
                "Show the selected run live: it trains in a process of its own (left running when the app closed)",
                self.follow,
            ),
            ("Compare", "Overlay the training curves of the two selected runs", self.compare),
            ("Delete", "Delete the selected run folders", self.delete),
            ("Refresh", "Read the runs folder again", self.refresh),
        ]:
            button = QPushButton(label)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            self.buttons[label] = button
            row.addWidget(button)
        row.addStretch(1)
        self.message = QLabel(wordWrap=True)
        self.folder = QLabel()
        self.folder.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.runs, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.folder)
        self.refresh()

    # ---- list ----------------------------------------------------------------------------------------
    def refresh(self) -> None:
        from lmstudio_app.core.training.runs import runs_root

        self.runs.refresh()
        self.folder.setText(f"Runs folder: {runs_root()}")
        if not self.runs.runs and not self.message.text():
            self._say(NO_RUNS)
        elif self.runs.runs and self.message.text() == NO_RUNS:
            self._say("")
        self._update_buttons()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        self.refresh()
        super().showEvent(event)

    def _update_buttons(self) -> None:
        selected = self.runs.selected_runs()
        one = selected[0] if len(selected) == 1 else None
        self.buttons["Open results"].setEnabled(one is not None and one.status == "finished")
        self.buttons["Resume"].setEnabled(one is not None and one.resumable and not self._is_active(one.path))
        self.buttons["Follow"].setEnabled(self._running_one() is not None)
        self.buttons["Compare"].setEnabled(len(selected) == 2)
        self.buttons["Delete"].setEnabled(bool(selected) and all(r.status != "running" for r in selected))

    def _running_one(self) -> Any:
        """The one selected run, when it trains and this app does not show it yet."""
        selected = self.runs.selected_runs()
        if len(selected) == 1 and selected[0].status == "running" and not self._is_active(selected[0].path):
            return selected[0]
        return None

    @staticmethod
    def _is_active(path: Path) -> bool:
        return any(Path(s.run_dir) == Path(path) for s in active_sessions())

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(message_style("error") if error else "")
        self.message.setText(text)

    # ---- actions -------------------------------------------------------------------------------------
    def new_fine_tune(self, task: str | None = None) -> Any:
        """Open the wizard (one at a time; a second click brings it to the front), on `task`'s path when
        given ("labels", "tokens" or "qa"; its first page lets the user choose too)."""
        from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard

        if self.wizard is None or (not self.wizard.isVisible() and not self.wizard.training):
            if self.wizard is not None:
                self.wizard.deleteLater()  # a closed wizard whose run has ended: start afresh
            self.wizard = FineTuneWizard(self.state, self)
            self.wizard.run_changed.connect(self.refresh)
        if task:
            self.wizard.choose_task(task)
        self.wizard.show()
        self.wizard.raise_()
        return self.wizard

    def new_pretraining(self) -> Any:
        from lmstudio_app.ui.pretrain.wizard import open_pretrain_wizard

        return open_pretrain_wizard(self)

    def fine_tune_from(self, model_dir: str) -> Any:
        from lmstudio_app.ui.pretrain.wizard import fine_tune_from

        return fine_tune_from(self, model_dir)

    def _dialog(self, run_dir: Path) -> RunDialog:
        dialog = dialog_class(RunRecord(Path(run_dir)).saved_settings().kind)(self.state, run_dir, self)
        dialog.train_view.state_changed.connect(lambda _s: self.refresh())
        dialog.finished.connect(lambda _r, d=dialog: self.dialogs.remove(d) if not d.training else None)
        self.dialogs.append(dialog)
        dialog.show()
        return dialog

    def _opens_here(self, run: Any) -> bool:
        """Whether this tab has views for the run's kind; else say, in one line, where its results are."""
        if run.kind in VIEWED_KINDS:
            return True
        kind = KINDS.get(run.kind, run.kind)
        self._say(
            f"{run.name} is a {kind} run, which this tab cannot show yet: its metrics are in "
            f"{run.path / METRICS_FILE}, and `lmstudio-app predict -m {RunRecord(run.path).model_dir()}` uses its model "
            f"(`lmstudio-app finetune --task {run.kind} -o {run.path} --resume` continues it).",
            error=True,
        )
        return False

    def open_results(self) -> RunDialog | None:
        selected = self.runs.selected_runs()
        if len(selected) != 1 or selected[0].status != "finished":
            self._say("Select one finished run to open its results.", error=True)
            return None
        if not self._opens_here(selected[0]):
            return None
        dialog = self._dialog(selected[0].path)
        dialog.open_results()
        return dialog

    def resume(self) -> RunDialog | None:
        selected = self.runs.selected_runs()
        if len(selected) != 1 or not selected[0].resumable:
            self._say("Select one cancelled run with a checkpoint to resume it.", error=True)
            return None
        if not self._opens_here(selected[0]):
            return None
        dialog = self._dialog(selected[0].path)
        dialog.resume()
        name = selected[0].name
        self._say(f"Resuming {name}…")
        dialog.train_view.state_changed.connect(
            lambda state: (
                self._say("") if state != "running" and self.message.text() == f"Resuming {name}…" else None
            )
        )
        return dialog

    def follow(self) -> RunDialog | None:
        """Show a run that trains in a process of its own (started before the app was last closed) live."""
        run = self._running_one()
        if run is None:
            self._say("Select one running run that this window does not show yet, to follow it.", error=True)
            return None
        if not self._opens_here(run):
            return None
        dialog = self._dialog(run.path)
        if not dialog.follow():
            self._say(f"{run.name} is no longer training.", error=True)
        self.refresh()
        return dialog

    def compare(self) -> Worker | None:
        selected = self.runs.selected_runs()
        if len(selected) != 2:
            self._say("Select exactly two runs (Ctrl+click) to compare their curves.", error=True)
            return None
        worker = Worker(_histories_job, [r.path for r in selected])
        worker.result.connect(self._show_comparison)
        worker.error.connect(lambda message, _d: self._say(message, error=True))
        return worker.start()

    def _show_comparison(self, histories: dict[str, list[dict]]) -> None:
        dialog = CompareDialog(histories, self)
        dialog.finished.connect(lambda _r: self.dialogs.remove(dialog) if dialog in self.dialogs else None)
        self.dialogs.append(dialog)
        dialog.show()

    def confirm_delete(self, names: list[str]) -> bool:
        """Ask before deleting (tests replace this method)."""
        answer = QMessageBox.question(
            self, "Delete runs", "Delete these runs and their models?\n" + "\n".join(names)
        )
        return answer == QMessageBox.StandardButton.Yes

    def delete(self) -> None:
        from lmstudio_app.core.errors import UserError
        from lmstudio_app.core.training.runs import delete_run

        selected = self.runs.selected_runs()
        if not selected or not self.confirm_delete([r.name for r in selected]):
            return
        try:
            for run in selected:
                delete_run(run.path)
        except UserError as exc:
            self._say(str(exc), error=True)
        else:
            self._say(f"Deleted {len(selected)} run{'s' if len(selected) != 1 else ''}.")
        self.refresh()

    # ---- closing the app -----------------------------------------------------------------------------
    def ask_close_during_training(self) -> str:
        """Ask what becomes of the runs still training when the app closes: "stop", "leave" or "cancel"
        (tests replace this method)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Training is running", CLOSE_QUESTION, parent=self)
        stop = box.addButton("Stop training", QMessageBox.ButtonRole.DestructiveRole)
        leave = box.addButton("Leave running", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(leave)
        box.exec()
        return {stop: "stop", leave: "leave"}.get(box.clickedButton(), "cancel")

    def may_close(self) -> bool:
        self._on_close = self.ask_close_during_training() if active_sessions() else "stop"
        return self._on_close != "cancel"

    def shutdown(self) -> None:
        """Stop every training at its next step (a checkpoint is saved) and wait for its process to end, or
        leave them training (the runs list shows them, Follow shows them live again)."""
        sessions = active_sessions()
        if self._on_close == "leave":
            for session in sessions:
                session.detach()
            return
        for session in sessions:
            session.cancel()
        for session in sessions:
            session.wait()
