"""The live view of a pre-training run: the fine-tune TrainView's curves, progress, log, Cancel and Resume,
plus the held-out masked-token figures and the probe sentences' predictions as they change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem

from lmstudio_app.core.pretrain.evaluate import top_words
from lmstudio_app.ui.finetune.train_view import TrainView, format_duration
from lmstudio_app.ui.finetune.training_session import TrainingSession
from lmstudio_app.ui.widgets.loss_curves import LossCurves

Pen = pg.QtCore.Qt.PenStyle
PRETRAIN_METRICS = (
    ("eval_mlm_top1", "masked top-1", Pen.SolidLine),
    ("eval_mlm_top5", "masked top-5", Pen.DashLine),
    ("eval_nsp_accuracy", "NSP accuracy", Pen.DotLine),
)


def figures(metrics: dict) -> str:
    """'top-1 33.2 %, top-5 49.0 %, perplexity 80.3, NSP 91.0 %' from eval_* figures."""
    parts = []
    if "eval_mlm_top1" in metrics:
        parts.append(f"top-1 {100 * metrics['eval_mlm_top1']:.1f} %")
    if "eval_mlm_top5" in metrics:
        parts.append(f"top-5 {100 * metrics['eval_mlm_top5']:.1f} %")
    if "eval_perplexity" in metrics:
        parts.append(f"perplexity {metrics['eval_perplexity']:.1f}")
    if "eval_nsp_accuracy" in metrics:
        parts.append(f"NSP {100 * metrics['eval_nsp_accuracy']:.1f} %")
    return ", ".join(parts)


class PretrainSession(TrainingSession):
    """A TrainingSession whose process pre-trains (`lmstudio-app pretrain`); probe predictions arrive as
    their own signal."""

    command = "pretrain"
    probes = Signal(int, list)  # step, [{"text", "masks"}]

    def launch_spec(self, corpus: Any, source: Any, settings: dict, plan: Any) -> dict:  # noqa: ARG002
        """The text is read again by the process, as `source` says (the same lines held out)."""
        return {
            "kind": "pretrain",
            "name": settings.get("name", ""),
            "settings": settings,
            "text": source.to_dict(),
        }

    def load_result(self, run_dir: Path) -> Any:
        from lmstudio_app.core.pretrain.settings import PretrainResult

        return PretrainResult.load(run_dir)

    def _on_event(self, event: dict) -> None:
        if event.get("type") == "probes":
            self.probes.emit(int(event.get("step", 0)), list(event.get("probes", [])))
            return
        if event.get("type") == "eval" and event.get("before"):
            self.probes.emit(0, list(event.get("probes", [])))
        super()._on_event(event)


class PretrainTrainView(TrainView):
    """TrainView with pre-training figures and a table of the probe sentences (start and now)."""

    session_class = PretrainSession

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent, lambda: LossCurves(metrics=PRETRAIN_METRICS, eval_title="Held-out text"))
        self.figures = QLabel(wordWrap=True)
        self.probe_table = QTableWidget(0, 3)
        self.probe_table.setHorizontalHeaderLabels(["Probe sentence", "At the start", "Now"])
        self.probe_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.probe_table.verticalHeader().hide()
        self.probe_table.setMaximumHeight(150)
        self.layout().insertWidget(2, self.figures)
        self.layout().addWidget(self.probe_table)
        self.probe_step = -1

    def start_new(
        self, corpus: Any, source: Any, settings: dict, run_dir: Path, plan: Any = None
    ) -> TrainingSession:  # noqa: ARG002
        self.curves.start_run()
        self.log.clear()
        self.probe_table.setRowCount(0)
        session = self._attach(self.session_class(run_dir, self))
        self.append_log(f"Run folder: {run_dir}")
        self.append_log(f"Pre-training {settings['base_model']} on {source.describe()}: {corpus.summary()}.")
        session.start_new(corpus, source, settings)
        return session

    def show_history(self, history: list[dict]) -> None:
        """The curves so far, and the probes' predictions before training."""
        self.curves.start_run()
        self.curves.add_events(history)
        before = next((e for e in history if e.get("before")), None)
        if before:
            self.show_probes(0, before.get("probes", []))

    def _attach(self, session: TrainingSession) -> TrainingSession:
        session.probes.connect(self.show_probes)
        return super()._attach(session)

    def _on_events(self, events: list[dict]) -> None:
        super()._on_events([e for e in events if e.get("type") != "eval"])  # progress and the loss curve
        evals = [e for e in events if e.get("type") == "eval"]
        self.curves.add_events(evals)
        for e in evals:
            what = "before training" if e.get("before") else f"step {e.get('step')}"
            self.append_log(f"held-out {what}: {figures(e)}")
            self.figures.setText(f"<b>Held-out text, {what}:</b> {figures(e)}")

    def show_probes(self, step: int, probes: list[dict]) -> None:
        """Fill the 'At the start' column (step 0) or the 'Now' column."""
        self.probe_table.setRowCount(max(self.probe_table.rowCount(), len(probes)))
        column = 1 if step == 0 else 2
        for row, probe in enumerate(probes):
            self.probe_table.setItem(row, 0, QTableWidgetItem(probe.get("text", "")))
            self.probe_table.setItem(row, column, QTableWidgetItem(top_words(probe)))
        if step:
            self.probe_step = step
            self.probe_table.setHorizontalHeaderItem(2, QTableWidgetItem(f"Now (step {step})"))

    def _on_succeeded(self, result: Any) -> None:
        import time

        self.result = result
        self.progress.setValue(1000)
        self.progress.setFormat("done")
        self.show_probes(max(1, self.probe_step), result.probes_after)
        text = (
            f"Finished in {format_duration(time.monotonic() - self._started)}. Held-out text before: "
            f"{figures(result.before)}; after: {figures(result.metrics)}."
        )
        self.status.setText(f"{text} {self.finished_hint}".strip())
        self.append_log(text)
        self.append_log(f"Model saved in {result.model_dir}")
        self._set_state("finished")
        self.succeeded.emit(result)
