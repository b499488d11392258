"""Results of a finished run: scores, per-class table, confusion heatmap, mistakes, try it, exports."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.data.table_writer import TABLE_FORMATS
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.outputs import check_output_dir, check_output_file
from lmstudio_app.core.training.record import SavedSettings
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.explain.hooks import ExplainRequest, MapRequest, add_explain_action, open_explain
from lmstudio_app.ui.finetune import multilabel
from lmstudio_app.ui.finetune.distill_view import ask_distill
from lmstudio_app.ui.finetune.wizard.data_page import FILE_FILTER
from lmstudio_app.ui.optimize.actions import METHOD_CHOICES, optimize_job, output_folder
from lmstudio_app.ui.optimize.results_part import OptimizedTab
from lmstudio_app.ui.qthreading import LatestOnly, Worker
from lmstudio_app.ui.theme import message_style
from lmstudio_app.ui.widgets.confusion_heatmap import ConfusionHeatmap

TABLE_FILTER = "CSV (*.csv);;TSV (*.tsv);;Excel workbook (*.xlsx);;JSON Lines (*.jsonl);;JSON (*.json)"


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return table


def _item(value: Any) -> QTableWidgetItem:
    if isinstance(value, float):
        item = QTableWidgetItem(f"{value:.3f}")
        item.setData(Qt.ItemDataRole.UserRole, value)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item
    text = str(value)
    item = QTableWidgetItem(text if len(text) <= 300 else text[:299] + "…")
    item.setToolTip(text[:2000])
    return item


def _predict_job(model_dir: Path, text: str, *, state: Any) -> Any:
    """Every class with its probability for `text`, most likely first (the classifier stays cached); a
    multi-label folder gives every label's probability and those that apply (LabelScores)."""
    from lmstudio_app.core.finetune.multilabel_predict import is_multi_label, label_scores
    from lmstudio_app.core.finetune.predict import class_probabilities

    state.raise_if_stopped()
    if is_multi_label(model_dir):
        return label_scores(Path(model_dir), text)
    return class_probabilities(Path(model_dir), text)  # an optimized folder runs with ONNX Runtime


def _columns_job(path: str, *, state: Any) -> list[str]:
    from lmstudio_app.core.data.table import read_table

    return read_table(Path(path), state=state).columns


def _predicted_message(done: Any, csv_out: str | Path) -> str:
    empty = f" ({done.skipped_empty:,} with an empty text have no label)" if done.skipped_empty else ""
    return f"Wrote {done.rows:,} rows with predictions to {csv_out}{empty}"


def _predict_csv_job(
    model_dir: Path, csv_in: str, column: str, csv_out: str, pair: str | None, *, state: Any
) -> int:
    from lmstudio_app.core.finetune.multilabel_predict import is_multi_label, predict_table
    from lmstudio_app.core.finetune.predict import predict_csv

    predict = predict_table if is_multi_label(model_dir) else predict_csv  # labels joined, a score each
    return predict(model_dir, Path(csv_in), column, Path(csv_out), text_pair_column=pair, state=state)


def _save_job(model_dir: Path, target: str, *, state: Any) -> Path:
    from lmstudio_app.core.jsonio import copy_folder

    return copy_folder(model_dir, target)


def _onnx_job(model_dir: Path, target: str, *, state: Any) -> Path:
    from lmstudio_app.core.finetune.export import export_onnx

    state.progress(-1, "Exporting to ONNX")
    return export_onnx(model_dir, Path(target))


def _load_job(app: AppState, model_dir: Path, name: str, *, state: Any) -> Any:
    """Load the fine-tuned folder on the CPU under the run's name (reusing it when already loaded)."""
    import dataclasses

    from lmstudio_app.core.models.registry import load_model
    from lmstudio_app.core.models.sources import resolve

    existing = app.registry.find(model_dir, "cpu", "float32")
    if existing is not None:
        return existing
    source = dataclasses.replace(resolve(str(model_dir), state=state), name=name)
    return app.registry.add(load_model(source, "cpu", "float32", state=state, key=f"{name} [cpu, float32]"))


class ResultsView(QWidget):
    """Set with `set_result(FineTuneResult)`; every action runs in a Worker and reports in `status`."""

    action_finished = Signal(str, bool)  # what was done (message), success

    def __init__(self, app: AppState | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.result: Any = None
        self.saved = SavedSettings()
        self.summary = QLabel(wordWrap=True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.per_class = _table(["Class", "Precision", "Recall", "F1", "Support"])
        self.heatmap = ConfusionHeatmap()
        self.mistakes = _table(["Text", "True", "Predicted", "Score"])
        self.try_edit = QLineEdit(placeholderText="type a text to classify it with the fine-tuned model")
        self.try_edit.textChanged.connect(self._try)
        self.try_model = QComboBox()
        self.try_model.currentIndexChanged.connect(lambda _i: self._try(self.try_edit.text()))
        self.try_result = QLabel()
        self.try_result.setToolTip("The probability of every class (a softmax over the classes)")
        self.explain_button = QPushButton(
            "Explain…", toolTip="Why this prediction: open the text in the Explain tab"
        )
        self.explain_button.clicked.connect(lambda: self.explain(self.try_edit.text()))
        self.status = QLabel(wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons: dict[str, QPushButton] = {}
        actions = [
            (
                "Batch predict a CSV…",
                "Predict a label and score for every row of another table",
                self._ask_batch,
            ),
            (
                "Save as HF folder…",
                "Copy the model (config with labels, tokenizer) to a folder",
                self._ask_save,
            ),
            ("Export ONNX…", "Export the model to a single ONNX file", self._ask_onnx),
            ("Copy as command", "Copy the equivalent lmstudio-app finetune command line", self.copy_command),
            (
                "accelerate script…",
                "Save a script for multi-GPU or cluster runs of this job",
                self._ask_accelerate,
            ),
            (
                "Load into model manager",
                "Load the fine-tuned model so the other panels can use it",
                self.load_into_manager,
            ),
            (
                "Dataset map (before/after)…",
                "Map the data's rows with the base model and with the fine-tuned one, side by side",
                self.map_before_after,
            ),
            (
                "Optimize for CPU…",
                "Export to ONNX (fp32 or int8) and compare size, memory, speed and accuracy with the original",
                self._ask_optimize,
            ),
            ("Distil…", "Train a smaller, faster student of this model's layers", lambda: ask_distill(self)),
        ]
        grid = QGridLayout()
        for i, (label, tip, slot) in enumerate(actions):
            button = QPushButton(label)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            self.buttons[label] = button
            grid.addWidget(button, i // 3, i % 3)

        scores = QWidget()
        row = QHBoxLayout(scores)
        row.addWidget(self.per_class, 1)
        row.addWidget(self.heatmap, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(scores, "Scores and confusion matrix")
        self.tabs.addTab(self.mistakes, "Misclassified")
        self.optimized = OptimizedTab(self.tabs, self.try_model)
        self.mistakes.cellDoubleClicked.connect(
            lambda row, _c: self.explain(self.result.misclassified[row]["text"])
        )
        add_explain_action(
            self.mistakes, "Explain this row…", lambda r: self.explain(self.result.misclassified[r]["text"])
        )
        try_box = QGroupBox("Try it")
        box = QHBoxLayout(try_box)
        box.addWidget(self.try_model)
        box.addWidget(self.try_edit, 2)
        box.addWidget(self.try_result, 1)
        box.addWidget(self.explain_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(try_box)
        layout.addLayout(grid)
        layout.addWidget(self.status)
        self.predictor = LatestOnly(self)
        self.workers: list[Worker] = []

    # ---- filling -------------------------------------------------------------------------------------
    def set_result(self, result: Any) -> None:
        from lmstudio_app.core.training.record import RunRecord

        self.result = result
        self.saved = RunRecord(Path(result.run_dir)).saved_settings()
        multi = multilabel.is_multi_label(result)
        m = result.metrics
        n_val = sum(int(v.get("support", 0)) for v in result.per_class.values())
        self.summary.setText(
            multilabel.summary_html(result)
            if multi
            else f"<span style='font-size: 15pt'>Accuracy <b>{m.get('eval_accuracy', 0):.3f}</b> &nbsp; "
            f"macro-F1 <b>{m.get('eval_macro_f1', 0):.3f}</b></span> &nbsp; validation loss "
            f"{m.get('eval_loss', float('nan')):.4f} on {n_val:,} validation examples, {len(result.labels)} classes."
            f"<br>Model folder: {html.escape(str(result.model_dir))}"
        )
        multilabel.show_kind(self, multi)
        self.buttons["Distil…"].setEnabled(not multi)  # soft targets here are a softmax over the classes
        self.per_class.setRowCount(len(result.labels))
        for r, label in enumerate(result.labels):
            scores = result.per_class.get(label, {})
            values = [label, *(float(scores.get(k, 0.0)) for k in ("precision", "recall", "f1"))]
            for c, value in enumerate([*values, int(scores.get("support", 0))]):
                self.per_class.setItem(r, c, _item(value))
        if not multi:
            self.heatmap.set_matrix(result.confusion, result.labels)
        has_pairs = any("pair" in e for e in result.misclassified)
        verdicts = multilabel.verdicts(multi)
        headers = ["Text", *(["Second text"] if has_pairs else []), *verdicts, "Score"]
        self.mistakes.setColumnCount(len(headers))
        self.mistakes.setHorizontalHeaderLabels(headers)
        self.mistakes.setRowCount(len(result.misclassified))
        for r, e in enumerate(result.misclassified):
            values = [
                e.get("text", ""),
                *([e.get("pair", "")] if has_pairs else []),
                e.get("true", ""),
                e.get("predicted", ""),
                float(e.get("score", 0.0)),
            ]
            for c, value in enumerate(values):
                self.mistakes.setItem(r, c, _item(value))
        wrong = "Wrong labels" if multi else "Misclassified"
        self.tabs.setTabText(1, f"{wrong} ({len(result.misclassified)})")
        self.optimized.reset(Path(result.model_dir), Path(result.run_dir))

    def displayed_confusion(self) -> list[list[int]]:
        """The matrix the heatmap shows (rows true, columns predicted, in the result's label order)."""
        return self.heatmap.matrix.tolist()

    # ---- try it --------------------------------------------------------------------------------------
    def _try(self, text: str) -> None:
        if self.result is None or not text.strip():
            self.predictor.cancel()
            self.try_result.setText("")
            return
        worker = self.predictor.submit(
            _predict_job, self.try_model.currentData() or self.result.model_dir, text
        )
        worker.result.connect(self._show_prediction)
        worker.error.connect(lambda message, _d: self._report(message, False))
        worker.start()

    def _show_prediction(self, predictions: Any) -> None:
        if not isinstance(predictions, list):  # a multi-label model's LabelScores
            self.try_result.setText(multilabel.prediction_html(predictions))
            return
        (label, score), rest = predictions[0], predictions[1:]
        others = ", ".join(f"{html.escape(name)} {fmt.percent(p)}" for name, p in rest)
        self.try_result.setText(
            f"→ <b>{html.escape(label)}</b> {fmt.percent(score)}" + (f"<br>{others}" if others else "")
        )

    def explain(self, text: str) -> None:
        """Open `text` in the Explain tab with this run's model (loaded there if needed)."""
        if self.result is not None and text.strip():
            name = self.saved.name or Path(self.result.run_dir).name
            open_explain(
                self, ExplainRequest(text, model_path=Path(self.result.model_dir), model_name=name), self.app
            )

    def map_before_after(self) -> QWidget | None:
        """The Explain tab's dataset map of this run's data: the base model beside the fine-tuned one."""
        from lmstudio_app.core.finetune.datasets import DataPlan

        if self.result is None:
            return None
        try:
            plan = DataPlan.from_saved(self.saved.job)
        except UserError as exc:
            self._report(str(exc), False)
            return None
        source = plan.val_data or plan.data  # the validation rows when they have a file of their own
        request = MapRequest(
            table=Path(source.path),
            text_column=source.text_column,
            label_column=source.label_column,
            after_path=Path(self.result.model_dir),
            after_name=self.saved.name or Path(self.result.run_dir).name,
            before_spec=str(self.saved.settings.get("base_model", "")),
        )
        return open_explain(self, request, self.app)

    # ---- actions -------------------------------------------------------------------------------------
    def _run(self, fn: Any, *args: Any, done: Any) -> Worker:
        worker = Worker(fn, *args)
        worker.result.connect(done)
        worker.error.connect(lambda message, _d: self._report(message, False))
        worker.progress.connect(lambda _f, message: self.status.setText(message) if message else None)
        worker.finished.connect(lambda: self.workers.remove(worker) if worker in self.workers else None)
        self.workers.append(worker)
        return worker.start()

    def _report(self, message: str, ok: bool = True) -> None:
        self.status.setStyleSheet(message_style("ok" if ok else "error"))
        self.status.setText(message)
        self.action_finished.emit(message, ok)

    def _checked(self, check: Callable[..., Path], *args: Any) -> Path | None:
        """The path a save dialog gave, once `check` accepts it; else its one line here, and None."""
        try:
            return check(*args)
        except UserError as exc:
            self._report(str(exc), False)
            return None

    def _ask_batch(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Table to predict", "", FILE_FILTER)
        if path:
            self._run(_columns_job, path, done=lambda columns: self._ask_batch_column(path, columns))

    def _ask_batch_column(self, path: str, columns: list[str]) -> None:
        column = self.saved.settings.get("text_column", "text")
        if column not in columns:
            column, ok = QInputDialog.getItem(
                self, "Text column", "Which column holds the texts?", columns, 0, False
            )
            if not ok:
                return
        out, _ = QFileDialog.getSaveFileName(
            self, "Save predictions as", str(Path(path).with_suffix("")) + "-predicted.csv", TABLE_FILTER
        )
        if out and self._checked(check_output_file, out, TABLE_FORMATS):
            self.batch_predict(path, column, out)

    def batch_predict(
        self, csv_in: str | Path, text_column: str, csv_out: str | Path, pair: str | None = None
    ) -> Worker:
        self.status.setText(f"Predicting {Path(csv_in).name}…")
        return self._run(
            _predict_csv_job,
            self.result.model_dir,
            str(csv_in),
            text_column,
            str(csv_out),
            pair,
            done=lambda done: self._report(_predicted_message(done, csv_out)),
        )

    def _ask_save(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the model into a new or empty folder")
        if folder and self._checked(check_output_dir, folder):
            self.save_folder(folder)

    def save_folder(self, folder: str | Path) -> Worker:
        return self._run(
            _save_job,
            self.result.model_dir,
            str(folder),
            done=lambda out: self._report(f"Saved a Hugging Face model folder in {out}"),
        )

    def _ask_onnx(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export ONNX", "model.onnx", "ONNX (*.onnx)")
        if path and self._checked(check_output_file, path, (".onnx",)):
            self.export_onnx(path)

    def export_onnx(self, path: str | Path) -> Worker:
        return self._run(
            _onnx_job,
            self.result.model_dir,
            str(path),
            done=lambda out: self._report(f"Exported ONNX to {out}"),
        )

    def _ask_optimize(self) -> None:
        choice, ok = QInputDialog.getItem(self, "Optimize for CPU", "Method:", list(METHOD_CHOICES), 0, False)
        if ok:
            self.optimize(METHOD_CHOICES[choice])

    def optimize(self, method: str, folder: str | Path | None = None) -> Worker:
        """Export and measure in a Worker; the table and chart appear in the Optimized tab."""
        out = Path(folder) if folder else output_folder(Path(self.result.run_dir), method)
        self.status.setStyleSheet("")
        self.status.setText(f"Optimizing ({method}) into {out}…")
        return self._run(optimize_job, self.result.model_dir, method, out, done=self._optimized)

    def _optimized(self, comparison: Any) -> None:
        self.optimized.show(comparison, switch=True)
        self._report(f"Optimized model written to {comparison.out_dir}: see the Optimized tab.")

    def _settings_and_paths(self) -> tuple[Any, Path, Path | None]:
        from lmstudio_app.core.finetune.datasets import DataPlan
        from lmstudio_app.core.finetune.settings import FineTuneSettings

        settings = FineTuneSettings.from_dict(self.saved.settings)
        plan = DataPlan.from_saved(self.saved.job)
        return settings, Path(plan.data.path), Path(plan.val_data.path) if plan.val_data else None

    def _data_source(self) -> Any:
        """How the run read its training table (the command line says so: e.g. several labels per row)."""
        return multilabel.data_source(self.saved)

    def command_text(self) -> str:
        from lmstudio_app.core.finetune.export import command_line

        settings, csv, val = self._settings_and_paths()
        out = Path(self.result.run_dir) / "cli-model"
        return command_line(settings, csv, out, val, source=self._data_source())

    def copy_command(self) -> str:
        text = self.command_text()
        QGuiApplication.clipboard().setText(text)
        self._report("Copied the command line to the clipboard: " + text)
        return text

    def _ask_accelerate(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save the accelerate launch script",
            "finetune_accelerate.sh",
            "Shell script (*.sh);;All files (*)",
        )
        if path and self._checked(check_output_file, path):
            self.save_accelerate_script(path)

    def save_accelerate_script(self, path: str | Path) -> Path:
        from lmstudio_app.core.finetune.export import accelerate_script

        settings, csv, _ = self._settings_and_paths()
        from lmstudio_app.core.jsonio import write_text

        out = Path(path)
        try:
            model = Path(self.result.run_dir) / "accelerate-model"
            write_text(out, accelerate_script(settings, csv, model, self._data_source()))
            out.chmod(0o755)
        except (UserError, OSError) as exc:
            self._report(str(exc), False)
            return out
        self._report(f"Saved the accelerate launch script to {out}")
        return out

    def load_into_manager(self) -> Worker | None:
        if self.app is None:
            self._report("Open the wizard from the app to load the model into the model manager.", False)
            return None
        self.status.setText("Loading the fine-tuned model into the model manager…")
        name = self.saved.name or Path(self.result.run_dir).name
        return self._run(_load_job, self.app, self.result.model_dir, name, done=self._loaded)

    def _loaded(self, loaded: Any) -> None:
        self.app.add_loaded(loaded)
        self._report(f"Loaded {loaded.key}: the other panels can use it now.")
