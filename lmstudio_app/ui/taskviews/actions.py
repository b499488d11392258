"""What to do with a trained word tagger or question-answering model: save it as a Hugging Face folder, copy
the command line that trains it again, load it into the model manager. Each runs in a Worker and says in
one line how it went."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.outputs import check_output_dir
from lmstudio_app.ui.qthreading import Worker
from lmstudio_app.ui.theme import message_style

SHARED_OPTIONS = (  # settings key, option, default of the CLI
    ("epochs", "--epochs", 3.0),
    ("learning_rate", "--lr", 1e-4),
    ("batch_size", "--batch-size", 16),
    ("max_length", "--max-length", None),
    ("warmup_ratio", "--warmup-ratio", 0.1),
    ("weight_decay", "--weight-decay", 0.01),
    ("patience", "--patience", 3),
    ("seed", "--seed", 42),
    ("precision", "--precision", "auto"),
    ("device", "--device", "auto"),
)


def finetune_command(
    task: str, settings: dict, data: str, val_data: str | None, out: str, extra: list[str]
) -> str:
    """The `lmstudio-app finetune --task ...` line that trains the same job without the window."""
    args = ["lmstudio-app", "finetune", "--task", task, "--data", data]
    if val_data:
        args += ["--val-data", val_data]
    else:
        args += ["--val-split", f"{settings.get('val_fraction', 0.2):g}"]
    args += ["-m", str(settings.get("base_model", "")), "-o", out]
    for key, option, default in SHARED_OPTIONS:
        value = settings.get(key)
        if value is None or value == default:
            continue
        args += [option, f"{value:g}" if isinstance(value, float) else str(value)]
    if int(settings.get("max_steps", -1) or -1) > 0:
        args += ["--max-steps", str(settings["max_steps"])]
    return shlex.join(args + extra)  # the evaluation interval is the CLI's automatic one


def _save_job(model_dir: Path, target: str, *, state: Any) -> Path:
    from lmstudio_app.core.jsonio import copy_folder

    state.progress(-1, f"Copying the model to {target}")
    return copy_folder(model_dir, target)


class ModelActions(QWidget):
    """A row of buttons and a status line; the owner sets `model_dir` and `command` (a callable)."""

    action_finished = Signal(str, bool)  # what happened, success

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_dir: Path | None = None
        self.command: Any = None  # () -> str
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for label, tip, slot in [
            (
                "Save as HF folder…",
                "Copy the model (config with its tags or heads, tokenizer) to a folder",
                self._ask_save,
            ),
            (
                "Copy as command",
                "Copy the lmstudio-app finetune command line that trains this job again",
                self.copy_command,
            ),
        ]:
            button = QPushButton(label)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            self.buttons[label] = button
            row.addWidget(button)
        row.addStretch(1)
        self.status = QLabel(wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self.workers: list[Worker] = []

    def report(self, message: str, ok: bool = True) -> None:
        self.status.setStyleSheet(message_style("ok" if ok else "error"))
        self.status.setText(message)
        self.action_finished.emit(message, ok)

    def _ask_save(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the model into a new or empty folder")
        if folder:
            self.save_folder(folder)

    def save_folder(self, folder: str | Path) -> Worker | None:
        if self.model_dir is None:
            return None
        try:
            check_output_dir(folder)
        except UserError as exc:
            self.report(str(exc), False)
            return None
        worker = Worker(_save_job, self.model_dir, str(folder))
        worker.result.connect(lambda out: self.report(f"Saved a Hugging Face model folder in {out}"))
        worker.error.connect(lambda message, _d: self.report(message, False))
        worker.finished.connect(lambda: self.workers.remove(worker) if worker in self.workers else None)
        self.workers.append(worker)
        return worker.start()

    def copy_command(self) -> str:
        if self.command is None:
            return ""
        try:
            text = self.command()
        except UserError as exc:
            self.report(str(exc), False)
            return ""
        QGuiApplication.clipboard().setText(text)
        self.report("Copied the command line to the clipboard: " + text)
        return text
