"""Step 3: hold out a seeded validation fraction, or use a separate validation file (every task's path).

What is split and how it is counted is the job kind's: `SplitRules` (this module's default) holds out a
stratified share of each class; word tagging and question answering bring their own rules.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from lmstudio_app.ui.finetune.wizard.context import RunContext, WizardContext
from lmstudio_app.ui.finetune.wizard.data_page import FILE_FILTER
from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.theme import message_style
from lmstudio_app.ui.widgets.class_bars import ClassBars
from lmstudio_app.ui.widgets.deferred import Deferred


def _split_job(ctx: WizardContext, fraction: float, seed: int, val_path: str | None, *, state: Any) -> tuple:
    """(train, val, plan, warnings) through the one function the CLI and resume use too."""
    from dataclasses import replace

    from lmstudio_app.core.data.labeled import split_warnings
    from lmstudio_app.core.finetune.datasets import DataPlan, build_splits

    val_source = replace(ctx.data.source, path=str(val_path), encoding="", delimiter="") if val_path else None
    plan = DataPlan(ctx.data.source, val_source, fraction, seed)
    train, val = build_splits(plan, data=ctx.data, state=state)
    return train, val, plan, split_warnings(train, val)


class SplitRules:
    """How one job kind splits and counts its data; this one: labelled texts, stratified by class."""

    subtitle = "Keep some examples aside to measure how well the model does on text it has not seen."
    held_out = "of each class for validation (stratified), seed"
    file_placeholder = "a file with the same columns"
    file_title = "Open a validation table"
    file_filter = FILE_FILTER
    headers = ("Class", "Training", "Validation")

    def split(self, ctx: Any, fraction: float, seed: int, val_path: str | None, *, state: Any) -> tuple:
        """(train, val, plan, warnings), on a worker thread."""
        return _split_job(ctx, fraction, seed, val_path, state=state)

    def sizes(self, train: Any, val: Any) -> tuple[int, int]:
        return len(train.labels), len(val.labels)

    def rows(self, train: Any, val: Any) -> list[tuple[str, int, int]]:
        """(name, training count, validation count) per row of the table and bar of the chart."""
        from lmstudio_app.core.data.labeled import class_counts, label_sort_key

        train_counts, val_counts = class_counts(train), class_counts(val)
        classes = sorted(
            set(train_counts) | set(val_counts), key=lambda c: (-train_counts.get(c, 0), label_sort_key(c))
        )
        return [(c, train_counts.get(c, 0), val_counts.get(c, 0)) for c in classes]

    def summary(self, train: Any, val: Any) -> str:
        n_train, n_val = self.sizes(train, val)
        return f"<b>{n_train:,}</b> training and <b>{n_val:,}</b> validation examples."


class SplitPage(QWizardPage):
    """Next is enabled once both splits have examples."""

    def __init__(self, ctx: RunContext, parent: Any = None, rules: SplitRules | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.rules = rules or SplitRules()
        self.busy = False
        self.error = ""
        self.setTitle("Split")
        self.setSubTitle(self.rules.subtitle)
        self.fraction_radio = QRadioButton("Hold out")
        self.fraction_radio.setChecked(True)
        self.file_radio = QRadioButton("Use a separate validation file:")
        group = QButtonGroup(self)
        group.addButton(self.fraction_radio)
        group.addButton(self.file_radio)
        self.percent = QSpinBox(minimum=5, maximum=50, value=20, suffix=" %", singleStep=5)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=42)
        self.seed.setToolTip("The same seed gives the same split every time")
        self.val_edit = QLineEdit(placeholderText=self.rules.file_placeholder)
        browse = QPushButton("Open…")
        browse.clicked.connect(self._browse)
        grid = QGridLayout()
        grid.addWidget(self.fraction_radio, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.percent)
        row.addWidget(QLabel(self.rules.held_out))
        row.addWidget(self.seed)
        row.addStretch(1)
        grid.addLayout(row, 0, 1)
        grid.addWidget(self.file_radio, 1, 0)
        row = QHBoxLayout()
        row.addWidget(self.val_edit, 1)
        row.addWidget(browse)
        grid.addLayout(row, 1, 1)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(list(self.rules.headers))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self._chart = Deferred(ClassBars)
        charts = QHBoxLayout()
        charts.addWidget(self.table, 1)
        charts.addWidget(self._chart, 1)
        self.summary = QLabel(wordWrap=True)
        self.messages = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.summary)
        layout.addLayout(charts, 1)
        layout.addWidget(self.messages)
        for signal in (self.percent.valueChanged, self.seed.valueChanged, self.fraction_radio.toggled):
            signal.connect(self.refresh)
        self.val_edit.editingFinished.connect(self.refresh)
        self.splitter = LatestOnly(self)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.rules.file_title, "", self.rules.file_filter)
        if path:
            self.use_validation_file(path)

    def use_validation_file(self, path: str | Path | None) -> None:
        """Switch to a separate validation file (None: back to a held-out fraction)."""
        self.val_edit.setText(str(path) if path else "")
        (self.file_radio if path else self.fraction_radio).setChecked(True)
        self.refresh()

    @property
    def chart(self) -> ClassBars:
        """The chart of the table's rows per split, built when the page is first shown (or first given data)."""
        return self._chart.widget

    def initializePage(self) -> None:  # noqa: N802
        self.refresh()

    def refresh(self) -> None:
        self.ctx.train = self.ctx.val = self.ctx.plan = None
        self.error = ""
        val_path = self.val_edit.text().strip() if self.file_radio.isChecked() else None
        if self.file_radio.isChecked() and not val_path:
            self._show_error("Choose the validation file, or hold out a fraction of the data instead.")
            return
        self.ctx.val_fraction = self.percent.value() / 100
        self.ctx.seed = self.seed.value()
        self.ctx.val_path = Path(val_path) if val_path else None
        self.busy = True
        self.summary.setText("Splitting…")
        worker = self.splitter.submit(
            self.rules.split, self.ctx, self.ctx.val_fraction, self.ctx.seed, val_path
        )
        worker.result.connect(self._show_split)
        worker.error.connect(lambda message, _details: self._show_error(message))
        worker.start()
        self.completeChanged.emit()

    def _show_split(self, value: tuple) -> None:
        train, val, plan, warnings = value
        self.ctx.plan = plan
        self.busy = False
        self.ctx.train, self.ctx.val = train, val
        rows = self.rules.rows(train, val)
        self.table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for col, cell in enumerate(values):
                self.table.setItem(
                    r, col, QTableWidgetItem(f"{cell:,}" if isinstance(cell, int) else str(cell))
                )
        self.chart.set_series(
            {
                "training": {name: n for name, n, _ in rows},
                "validation": {name: n for name, _, n in rows},
            }
        )
        self.summary.setText(self.rules.summary(train, val))
        lines = [f"<span style='{message_style('warning')}'>⚠ {html.escape(w)}</span>" for w in warnings]
        if not all(self.rules.sizes(train, val)):
            self.error = (
                "Both the training and the validation split need examples: use more data or another fraction."
            )
            lines.insert(0, f"<span style='{message_style('error')}'><b>{self.error}</b></span>")
        self.messages.setText("<br>".join(lines))
        self.completeChanged.emit()

    def _show_error(self, message: str) -> None:
        self.busy = False
        self.error = message
        self.table.setRowCount(0)
        self.chart.set_series({})
        self.summary.setText("")
        self.messages.setText(f"<span style='{message_style('error')}'><b>{html.escape(message)}</b></span>")
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return not self.busy and not self.error and self.ctx.train is not None

    def validatePage(self) -> bool:  # noqa: N802
        return self.isComplete()
