"""The live view of one training run: curves, progress with samples/s and ETA, a log, Cancel and Resume."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.ui.finetune import multilabel
from lmstudio_app.ui.finetune.training_session import TrainingSession
from lmstudio_app.ui.theme import message_style
from lmstudio_app.ui.widgets.deferred import BUILD_DELAY_MS, Deferred
from lmstudio_app.ui.widgets.loss_curves import LossCurves

CANCEL_TIP = "Stop at the next step; a checkpoint is kept so the run can be resumed"
STOP_NOW_TIP = "End the training process now, without waiting for the step; the last saved checkpoint is kept"


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainView(QWidget):
    """Shows a TrainingSession; `state` is idle | running | cancelling | cancelled | finished | failed.

    Another job kind subclasses it with its own `session_class` (which job it runs) and says its figures
    in words through `describe_data`, `describe_eval` and `describe_result`.
    """

    session_class: type[TrainingSession] = TrainingSession

    state_changed = Signal(str)
    succeeded = Signal(object)  # FineTuneResult

    def __init__(self, parent: QWidget | None = None, curves: Callable[[], LossCurves] = LossCurves) -> None:
        super().__init__(parent)
        self.session: TrainingSession | None = None
        self.state = "idle"
        self.result: Any = None
        self.finished_hint = ""  # what to do next, in the words of the host's button
        self._make_curves = curves
        # Built after the page has first painted (a run's start then costs two short stalls, not one long).
        self._curves = Deferred(self._build_curves)
        self._kind_curves: tuple | None = None  # the curves `curves` plots; a multi-label run plots its own
        self._multi = False  # the run plots a multi-label run's curves
        self.progress = QProgressBar(maximum=1000)
        self.progress.setFormat("%p %")
        self.speed = QLabel()
        self.status = QLabel(wordWrap=True)
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.setToolTip(CANCEL_TIP)
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)  # until a run starts
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue this run from its last checkpoint")
        self.resume_button.clicked.connect(self.resume)
        self.resume_button.hide()
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(2000)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.speed)
        row.addWidget(self.cancel_button)
        row.addWidget(self.resume_button)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self._curves)
        splitter.addWidget(self.log)
        splitter.setSizes([300, 120])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)
        self._started = 0.0
        self._last_eval_line = 0
        self._rate = ""

    @property
    def curves(self) -> LossCurves:
        return self._curves.widget

    def _build_curves(self) -> LossCurves:
        """The plots; the run's curves are put in place on a later turn (before its first event, seconds
        away), so that no turn of the event loop builds both."""
        made = self._make_curves()
        self._kind_curves = made.metrics
        made.metrics = multilabel.CURVES if self._multi else made.metrics
        QTimer.singleShot(BUILD_DELAY_MS, made, lambda: None if made.data else made.start_run())
        return made

    def _plot_multi_label(self, multi: bool) -> None:
        """Plot micro-F1 for a multi-label run, this view's own curves otherwise (now, or when built)."""
        self._multi = multi
        if self._curves.built:
            self.curves.metrics = multilabel.CURVES if multi else self._kind_curves

    @property
    def busy(self) -> bool:
        """A run is training or stopping: closing must ask, a new start must wait."""
        return self.state in ("running", "cancelling")

    # ---- starting ------------------------------------------------------------------------------------
    def start_new(
        self, train: Any, val: Any, settings: dict, run_dir: Path, plan: Any = None
    ) -> TrainingSession:
        self._plot_multi_label(getattr(train, "label_sets", None) is not None)
        if self._curves.built:  # else they are built with the new run's curves once the page has painted
            self.curves.start_run()
        self.log.clear()
        session = self._attach(self.session_class(run_dir, self))
        self.append_log(f"Run folder: {run_dir}")
        self.append_log(
            f"Training {settings['base_model']} on {self.describe_data(train, val)}; "
            f"{settings['epochs']:g} epochs, lr {settings['learning_rate']:g}, "
            f"batch {settings['batch_size']}, max length {settings['max_length']}."
        )
        session.start_new(train, val, settings, plan)
        return session

    # ---- what the job kind says ----------------------------------------------------------------------
    def describe_data(self, train: Any, val: Any) -> str:
        return f"{len(train.labels):,} examples, validating on {len(val.labels):,}"

    def describe_eval(self, event: dict) -> str:
        if multilabel.figures(event):
            return f"eval loss {float(event.get('eval_loss', 0)):.4f}, {multilabel.figures(event)}"
        return (
            f"eval loss {float(event.get('eval_loss', 0)):.4f}, accuracy "
            f"{float(event.get('eval_accuracy', 0)):.3f}, macro-F1 {float(event.get('eval_macro_f1', 0)):.3f}"
        )

    def describe_result(self, metrics: dict) -> str:
        if multilabel.figures(metrics):
            return multilabel.figures(metrics)
        return (
            f"accuracy {metrics.get('eval_accuracy', 0):.3f}, macro-F1 {metrics.get('eval_macro_f1', 0):.3f}"
        )

    def start_resume(self, run_dir: Path, history: list[dict] | None = None) -> TrainingSession:
        """Continue a run from its checkpoint; `history` (the run's events so far) is drawn first."""
        if history is not None:
            self.show_history(history)
        session = self._attach(self.session_class(run_dir, self))
        self.append_log(f"Resuming {Path(run_dir).name} from its last checkpoint…")
        session.start_resume()
        return session

    def follow(self, run_dir: Path, history: list[dict]) -> bool:
        """Show a run that trains in a process started earlier (a window closed with "Leave running"):
        its history so far, then live; False (and why, in the status) when it is no longer training."""
        self.show_history(history)
        self.log.clear()
        session = self._attach(self.session_class(run_dir, self))
        if not session.follow(history):
            self.status.setText("This run is no longer training: refresh the runs list to see how it ended.")
            self._set_state("idle")
            return False
        self.append_log(f"Following {Path(run_dir).name}, which trains in a process of its own…")
        self.status.setText("Training (following the run's process)…")
        return True

    def show_history(self, history: list[dict]) -> None:
        """Draw a run's events so far (before it resumes or is followed)."""
        self._plot_multi_label(any("eval_micro_f1" in e for e in history))
        self.curves.start_run()
        self.curves.add_events(history)

    def _attach(self, session: TrainingSession) -> TrainingSession:
        self.session = session
        self.result = None
        session.events.connect(self._on_events)
        session.log_line.connect(self.append_log)
        session.progress.connect(self._on_progress)
        session.succeeded.connect(self._on_succeeded)
        session.failed.connect(self._on_failed)
        session.cancelled.connect(self._on_cancelled)
        self._started = time.monotonic()
        self.status.setStyleSheet("")
        self.status.setText("Starting (loading the model and tokenizing the data)…")
        self.speed.setText("")
        self.progress.setValue(0)
        self._set_state("running")
        return session

    # ---- actions -------------------------------------------------------------------------------------
    def cancel(self) -> None:
        """First press: stop at the next step with a checkpoint; second ("Stop now"): end the process."""
        if self.session is not None and self.session.running:
            self.session.cancel()
            if not self.session.running:  # it had not started yet: cancelled already
                return
            if self.session.stops == 1:
                self.status.setText("Cancelling: stopping at the next step and saving a checkpoint…")
                self._set_state("cancelling")
            else:
                self.status.setText("Stopping the training process now…")
                self.cancel_button.setEnabled(False)

    def leave_running(self) -> None:
        """Stop showing the run and leave its process training (Follow in the runs list shows it again)."""
        if self.session is not None and self.session.running:
            self.session.detach()
            self.status.setText("Left running in its own process: Follow in the runs list shows it again.")
            self._set_state("idle")

    def resume(self) -> None:
        if self.session is not None and not self.session.running:
            self.start_resume(self.session.run_dir)

    # ---- session signals (GUI thread; batched) ------------------------------------------------------------
    def _on_events(self, events: list[dict]) -> None:
        self.curves.add_events(events)
        logs = [e for e in events if e.get("type") == "log"]
        if logs:
            last = logs[-1]
            step, total = int(last.get("step", 0)), int(last.get("max_steps", 0) or 0)
            if total > 0:
                self.progress.setValue(int(1000 * step / total))
                self.progress.setFormat(f"step {step} of {total}  (%p %)")
            parts = []
            if last.get("samples_per_s"):
                self._rate = f"{last['samples_per_s']:.1f} samples/s"
                parts.append(self._rate)
            if (last.get("eta_s") or -1) >= 0:
                parts.append(f"ETA {format_duration(last['eta_s'])}")
            self.speed.setText("   ".join(parts))
        if logs and self.state == "running":
            last = logs[-1]
            self.status.setText(
                f"Training: epoch {float(last.get('epoch', 0)):.2f}, loss {float(last.get('loss', 0)):.4f}"
            )
        for e in events:
            if e.get("type") == "eval":
                self.append_log(f"step {e.get('step')}: {self.describe_eval(e)}")

    def _on_progress(self, fraction: float, message: str) -> None:
        if message and self.state == "running" and not self.session.last_log:
            self.status.setText(message)

    def _on_succeeded(self, result: Any) -> None:
        self.result = result
        metrics = result.metrics
        self.progress.setValue(1000)
        self.progress.setFormat("done")
        text = f"Finished in {format_duration(time.monotonic() - self._started)}: {self.describe_result(metrics)}."
        self.status.setText(f"{text} {self.finished_hint}".strip())
        self.speed.setText(self._rate)  # the speed it ran at; no ETA once it has stopped
        self.append_log(text)
        self.append_log(f"Model saved in {result.model_dir}")
        self._set_state("finished")
        self.succeeded.emit(result)

    def _on_failed(self, message: str, details: str) -> None:
        self.status.setStyleSheet(message_style("error"))
        self.status.setText(f"Training failed: {message}")
        self.speed.setText(self._rate)
        self.append_log(f"Failed: {message}")
        if details:
            self.append_log(details)
        self._set_state("failed")

    def _on_cancelled(self) -> None:
        step = self.session.last_log.get("step", 0) if self.session else 0
        text = f"Cancelled at step {step}. The checkpoint is kept: Resume continues from it (also from the runs list)."
        self.status.setText(text)
        self.speed.setText(self._rate)  # no ETA for a run that is not running
        self.append_log(text)
        self._set_state("cancelled")

    def append_log(self, line: str) -> None:
        self.log.appendPlainText(f"[{time.strftime('%H:%M:%S')}] {line}")

    def _set_state(self, state: str) -> None:
        self.state = state
        self.cancel_button.setEnabled(state in ("running", "cancelling"))
        stopping = state == "cancelling"
        self.cancel_button.setText("Stop now" if stopping else "Cancel training")
        self.cancel_button.setToolTip(STOP_NOW_TIP if stopping else CANCEL_TIP)
        self.resume_button.setVisible(state in ("cancelled", "failed"))
        self.state_changed.emit(state)
