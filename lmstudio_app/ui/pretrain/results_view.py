"""The results of a pre-training run: held-out figures before and after, the probe sentences side by side,
and what to do with the model (save it, load it, fine-tune from it)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.outputs import check_output_dir
from lmstudio_app.core.pretrain.evaluate import top_words
from lmstudio_app.ui.qthreading import Worker

ERROR_STYLE = "color: #c0392b;"
ROWS = (
    ("eval_mlm_top1", "Masked-token top-1 accuracy", True),
    ("eval_mlm_top5", "Masked-token top-5 accuracy", True),
    ("eval_perplexity", "Perplexity (lower is better)", False),
    ("eval_nsp_accuracy", "Next-sentence accuracy", True),
)


def _value(key: str, metrics: dict) -> str:
    if key not in metrics:
        return "–"
    v = float(metrics[key])
    return f"{v:.2f}" if key == "eval_perplexity" else f"{100 * v:.1f} %"


def _copy_model(source: Path, target: Path, *, state: Any) -> Path:
    """The model folder (weights, config, tokenizer, metrics) copied to `target`; the run keeps its own."""
    state.progress(-1, f"Copying the model to {target}")
    if target.exists() and any(target.iterdir()):
        raise UserError(f"{target} is not empty: choose a new or empty folder.")
    keep = ("checkpoint-", ".lock", "status.json", "settings.json", "history.jsonl", "results.json")
    shutil.copytree(
        source, target, dirs_exist_ok=True, ignore=lambda _d, names: [n for n in names if n.startswith(keep)]
    )
    return target


def _load_job(registry: Any, path: Path, *, state: Any) -> Any:
    return registry.load(str(path), "cpu", "float32", state=state)


class PretrainResultsView(QWidget):
    """set_result(PretrainResult); `fine_tune_requested(model folder)` asks for the fine-tune wizard."""

    fine_tune_requested = Signal(str)

    def __init__(self, app: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.result: Any = None
        self.summary = QLabel(wordWrap=True)
        self.figures = QTableWidget(0, 4)
        self.figures.setHorizontalHeaderLabels(["Held-out text", "Before", "After", "Change"])
        self.probes = QTableWidget(0, 3)
        self.probes.setHorizontalHeaderLabels(["Probe sentence", "Before (top 5)", "After (top 5)"])
        for table in (self.figures, self.probes):
            table.verticalHeader().hide()
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.figures.setMaximumHeight(150)
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for label, tip, slot in [
            (
                "Save as Hugging Face folder…",
                "Copy the model (weights, config, tokenizer) to a folder",
                self.save_as,
            ),
            ("Load into model manager", "Load the model to use it on the other tabs", self.load_model),
            ("Fine-tune from this model", "Open the fine-tune wizard with this model chosen", self.fine_tune),
        ]:
            button = QPushButton(label)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            self.buttons[label] = button
            row.addWidget(button)
        row.addStretch(1)
        self.message = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.figures)
        layout.addWidget(QLabel("<b>Your probe sentences</b>"))
        layout.addWidget(self.probes, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)

    def set_result(self, result: Any) -> None:
        self.result = result
        m, before = result.metrics, result.before
        notes = " ".join(result.notes)
        self.summary.setText(
            f"Model saved in <b>{result.model_dir}</b> after {m.get('global_step', 0)} steps "
            f"({m.get('train_tokens', 0):,} training tokens). {notes}"
        )
        rows = [r for r in ROWS if r[0] in m or r[0] in before]
        self.figures.setRowCount(len(rows))
        for i, (key, label, higher_better) in enumerate(rows):
            change = ""
            if key in m and key in before:
                delta = float(m[key]) - float(before[key])
                better = (delta > 0) == higher_better and delta != 0
                scale, unit = (1, "") if key == "eval_perplexity" else (100, " points")
                change = f"{'+' if delta >= 0 else ''}{scale * delta:.1f}{unit}" + (
                    " (better)" if better else ""
                )
            for col, text in enumerate((label, _value(key, before), _value(key, m), change)):
                self.figures.setItem(i, col, QTableWidgetItem(text))
        after = {p["text"]: p for p in result.probes_after}
        self.probes.setRowCount(len(result.probes_after))
        for i, probe in enumerate(result.probes_before or result.probes_after):
            text = probe["text"]
            values = (text, top_words(probe) if result.probes_before else "–", top_words(after.get(text, {})))
            for col, value in enumerate(values):
                self.probes.setItem(i, col, QTableWidgetItem(value))
        self.buttons["Load into model manager"].setEnabled(self.app is not None)
        self._say("")

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        self.message.setText(text)

    def choose_folder(self) -> str:
        """Ask for the target folder (tests replace this method)."""
        return QFileDialog.getExistingDirectory(self, "Save the model into an empty folder")

    def save_as(self) -> Worker | None:
        folder = self.choose_folder()
        if not folder or self.result is None:
            return None
        try:
            check_output_dir(folder)
        except UserError as exc:
            self._say(str(exc), error=True)
            return None
        worker = Worker(_copy_model, Path(self.result.model_dir), Path(folder))
        worker.result.connect(lambda target: self._say(f"Saved to {target}: load it by its folder anywhere."))
        worker.error.connect(lambda message, _d: self._say(message, error=True))
        return worker.start()

    def load_model(self) -> Worker | None:
        if self.app is None or self.result is None:
            return None
        self._say("Loading the model…")
        worker = Worker(_load_job, self.app.registry, Path(self.result.model_dir))
        worker.result.connect(self._loaded)
        worker.error.connect(lambda message, _d: self._say(message, error=True))
        return worker.start()

    def _loaded(self, loaded: Any) -> None:
        self.app.add_loaded(loaded)
        self._say(f"Loaded as {loaded.key} ({', '.join(loaded.heads)}): try it on the Masked words tab.")

    def fine_tune(self) -> None:
        if self.result is not None:
            self.fine_tune_requested.emit(str(self.result.model_dir))
