"""Step 2: which column is the text (and the optional pair), which the label; the classes as a bar chart."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QVBoxLayout, QWizardPage

from lmstudio_app.ui.finetune.wizard.context import WizardContext
from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.sizing import compact_combo
from lmstudio_app.ui.theme import message_style
from lmstudio_app.ui.widgets.class_bars import ClassBars
from lmstudio_app.ui.widgets.deferred import Deferred

NO_PAIR = "(none: single texts)"
TEXT_NAMES = (
    "text",
    "sentence",
    "review",
    "content",
    "comment",
    "message",
    "body",
    "document",
    "sentence1",
    "question",
)
LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "intent", "tag", "y")


def guess_columns(columns: list[str]) -> tuple[str, str]:
    """A likely (text, label) pair by common names, else the first and the last column."""
    lower = {c.strip().lower(): c for c in columns}
    text = next((lower[n] for n in TEXT_NAMES if n in lower), columns[0])
    label = next((lower[n] for n in LABEL_NAMES if n in lower and lower[n] != text), columns[-1])
    return text, label


def _prepare(table: Any, text: str, label: str, pair: str | None, merge: bool, *, state: Any) -> Any:
    from lmstudio_app.core.data.labeled import prepare

    return prepare(table, text, label, pair, merge_variants=merge)


class ColumnsPage(QWizardPage):
    """Next is enabled once the chosen columns give at least two classes."""

    def __init__(self, ctx: WizardContext, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.busy = False
        self.error = ""
        self.setTitle("Columns")
        self.setSubTitle("Choose the column with the text to classify and the column with its label.")
        self.text_combo = compact_combo(QComboBox())
        self.pair_combo = compact_combo(QComboBox())
        self.pair_combo.setToolTip("For sentence-pair tasks (e.g. question and answer): the second text")
        self.label_combo = compact_combo(QComboBox())
        self.merge_box = QCheckBox("Merge labels that differ only by upper/lower case or spaces")
        self.merge_box.setChecked(True)
        self.merge_box.hide()
        for combo in (self.text_combo, self.pair_combo, self.label_combo):
            combo.activated.connect(self.refresh)
        self.merge_box.toggled.connect(self.refresh)
        form = QFormLayout()
        form.addRow("Text column:", self.text_combo)
        form.addRow("Second text (optional):", self.pair_combo)
        form.addRow("Label column:", self.label_combo)
        self.summary = QLabel(wordWrap=True)
        self.variants = QLabel(wordWrap=True)
        self._chart = Deferred(ClassBars)
        self.messages = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self.variants)
        layout.addWidget(self.merge_box)
        layout.addWidget(self._chart, 1)
        layout.addWidget(self.messages)
        self.preparer = LatestOnly(self)
        self._columns: list[str] = []

    @property
    def chart(self) -> ClassBars:
        """The class chart, built when the page is first shown (or first given data)."""
        return self._chart.widget

    def initializePage(self) -> None:  # noqa: N802 (Qt's name)
        columns = [str(c) for c in self.ctx.table.frame.columns]
        if columns != self._columns:  # a new file: guess again; the same file keeps the user's choice
            self._columns = columns
            text, label = guess_columns(columns)
            for combo in (self.text_combo, self.label_combo):
                combo.clear()
                combo.addItems(columns)
            self.pair_combo.clear()
            self.pair_combo.addItem(NO_PAIR, None)
            for c in columns:
                self.pair_combo.addItem(c, c)
            self.text_combo.setCurrentText(text)
            self.label_combo.setCurrentText(label)
        self.refresh()

    def set_columns(self, text: str, label: str, pair: str | None = None) -> None:
        """Choose the columns as the user would with the three boxes."""
        self.text_combo.setCurrentText(text)
        self.label_combo.setCurrentText(label)
        self.pair_combo.setCurrentIndex(max(0, self.pair_combo.findData(pair)) if pair else 0)
        self.refresh()

    def refresh(self) -> None:
        text, label, pair = (
            self.text_combo.currentText(),
            self.label_combo.currentText(),
            self.pair_combo.currentData(),
        )
        self.ctx.data = None
        self.error = ""
        if text == label:
            self._show_error("The text column and the label column must be different columns.")
            return
        if pair in (text, label):
            self._show_error("The second text column must differ from the text and the label columns.")
            return
        self.ctx.text_column, self.ctx.label_column, self.ctx.pair_column = text, label, pair
        self.ctx.merge_variants = self.merge_box.isChecked()
        self.busy = True
        self.summary.setText("Reading the labels…")
        worker = self.preparer.submit(_prepare, self.ctx.table, text, label, pair, self.ctx.merge_variants)
        worker.result.connect(self._show_data)
        worker.error.connect(lambda message, _details: self._show_error(message))
        worker.start()
        self.completeChanged.emit()

    def _show_data(self, data: Any) -> None:
        from lmstudio_app.core.data.labeled import class_counts, label_sort_key

        self.busy = False
        self.ctx.data = data
        counts = class_counts(data)
        dropped = data.dropped_empty
        self.summary.setText(
            f"<b>{len(data.labels):,} examples</b> in <b>{len(counts)} class{'es' if len(counts) != 1 else ''}</b>."
            + (
                f" {dropped:,} row{'s' if dropped != 1 else ''} dropped for an empty text or label."
                if dropped
                else ""
            )
        )
        self._show_variants(data)
        self.chart.set_counts(dict(sorted(counts.items(), key=lambda kv: (-kv[1], label_sort_key(kv[0])))))
        warnings = [w for w in data.warnings if len(counts) >= 2 or not w.startswith("only one class")]
        messages = [f"<span style='{message_style('warning')}'>⚠ {html.escape(w)}</span>" for w in warnings]
        if len(counts) < 2:
            self.error = (
                f"Only one class ({html.escape(next(iter(counts), ''))}) in '{html.escape(self.ctx.label_column)}': "
                "a classifier needs at least two. Pick another label column or add examples of other classes."
            )
            messages.insert(0, f"<span style='{message_style('error')}'><b>{self.error}</b></span>")
        self.messages.setText("<br>".join(messages))
        self.completeChanged.emit()

    def _show_variants(self, data: Any) -> None:
        variants = {kept: vs for kept, vs in (data.variants or {}).items() if len(vs) > 1}
        self.merge_box.setVisible(bool(variants) or not self.merge_box.isChecked())
        if not variants:
            self.variants.setText("")
            return
        parts = [
            ", ".join(f"'{html.escape(v)}'" for v in vs) + f" → '{html.escape(kept)}'"
            for kept, vs in variants.items()
        ]
        verb = "are merged" if self.merge_box.isChecked() else "would be merged"
        self.variants.setText(f"Labels that differ only by case or spaces {verb}: " + "; ".join(parts))

    def _show_error(self, message: str) -> None:
        self.busy = False
        self.ctx.data = None
        self.error = message
        self.summary.setText("")
        self.chart.set_counts({})
        self.messages.setText(f"<span style='{message_style('error')}'><b>{html.escape(message)}</b></span>")
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return not self.busy and not self.error and self.ctx.data is not None

    def validatePage(self) -> bool:  # noqa: N802
        return self.isComplete()
