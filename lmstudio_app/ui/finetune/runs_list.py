"""The runs folder as a table: name, status, kind, created, progress and scores; newest first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

COLUMNS = ["Name", "Status", "Kind", "Created", "Steps", "Accuracy", "F1", "Base model"]
# Which figure each kind shows under "Accuracy" and "F1", and what it is (the cell's tooltip).
FIGURES = {
    "finetune": (("eval_accuracy", "accuracy"), ("eval_macro_f1", "macro-F1 over the classes")),
    "pretrain": (("eval_mlm_top1", "masked-token top-1 accuracy"), None),
    "tokens": (("eval_token_accuracy", "token accuracy"), ("eval_f1", "entity F1 (seqeval)")),
    "qa": (("eval_exact_match", "exact match"), ("eval_f1", "answer F1 (SQuAD)")),
}
KINDS = {
    "finetune": "fine-tune",
    "pretrain": "pre-training",
    "tokens": "token tagging",
    "qa": "question answering",
    "distill": "distillation",
}
# mid tones: readable on the light and on the dark theme's table background
STATUS_COLOURS = {
    "finished": "#2e9e57",
    "running": "#3a87d6",
    "cancelled": "#c88a12",
    "interrupted": "#c88a12",
    "failed": "#d9534f",
}


def evaluated_metrics(run: Any) -> tuple[dict, str]:
    """The run's final metrics, or for a run stopped early its last evaluation (and a note saying so)."""
    from lmstudio_app.core.training.record import RunRecord

    if run.metrics:
        return run.metrics, ""
    evals = [e for e in RunRecord(run.path).history() if e.get("type") == "eval"]
    if not evals:
        return {}, ""
    return evals[-1], f"evaluated at step {evals[-1].get('step')}, before the run was {run.status}"


class RunsList(QTableWidget):
    """Rows carry their RunInfo; `selected_runs()` gives them back in table order."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.runs: list[Any] = []

    def refresh(self, root: Path | None = None) -> None:
        """Re-read the runs folder, keeping the selection."""
        from lmstudio_app.core.training.runs import list_runs

        selected = {r.path for r in self.selected_runs()}
        self.runs = list_runs(root)
        self.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            metrics, note = evaluated_metrics(run)
            figures = FIGURES.get(run.kind, FIGURES["finetune"])
            shown = [f if f is not None and f[0] in metrics else None for f in figures]
            steps = f"{run.step} / {run.max_steps}" if run.max_steps else (str(run.step) if run.step else "")
            values = [
                run.name,
                run.status + (" (resumable)" if run.resumable else ""),
                KINDS.get(run.kind, run.kind),
                run.created,
                steps,
                *(f"{metrics[f[0]]:.3f}" if f is not None else "" for f in shown),
                Path(str(run.settings.get("base_model", ""))).name,
            ]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, row)
                if col == 1 and run.status in STATUS_COLOURS:
                    item.setForeground(QColor(STATUS_COLOURS[run.status]))
                if col == 1 and run.message:
                    item.setToolTip(run.message)
                if col in (5, 6) and shown[col - 5] is not None:
                    item.setToolTip(f"{shown[col - 5][1]}" + (f"; {note}" if note else ""))
                self.setItem(row, col, item)
        for row, run in enumerate(self.runs):
            if run.path in selected:
                self.selectRow(row)

    def selected_runs(self) -> list[Any]:
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        return [self.runs[r] for r in rows if r < len(self.runs)]

    def select_path(self, path: Path, add: bool = False) -> bool:
        """Select the run in `path` (alone, or added to the selection as Ctrl+click does)."""
        from PySide6.QtCore import QItemSelectionModel

        if not add:
            self.clearSelection()
        for row, run in enumerate(self.runs):
            if Path(run.path) == Path(path):
                flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
                self.selectionModel().select(self.model().index(row, 0), flags)
                return True
        return False
