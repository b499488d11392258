"""Step 2: which column is the text (and the optional pair), which the label; the classes as a bar chart.

A label column whose cells hold several labels (JSON lists, or labels joined by ';', '|'…) is noticed when it
is chosen: "Several labels per row" is then ticked with its separator, and the job becomes multi-label.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWizardPage,
)

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
SEPARATOR_CHOICES = {  # what the user reads -> the separator (JSON_LISTS is "")
    "; (semicolon)": ";",
    "| (pipe)": "|",
    ", (comma)": ",",
    "/ (slash)": "/",
    'JSON lists ["a", "b"]': "",
}
DETECT = None  # multi-label or not: decided from the label column's cells


def guess_columns(columns: list[str]) -> tuple[str, str]:
    """A likely (text, label) pair by common names, else the first and the last column."""
    lower = {c.strip().lower(): c for c in columns}
    text = next((lower[n] for n in TEXT_NAMES if n in lower), columns[0])
    label = next((lower[n] for n in LABEL_NAMES if n in lower and lower[n] != text), columns[-1])
    return text, label


def _prepare(
    table: Any,
    columns: tuple[str, str, str | None],
    merge: bool,
    multi: bool | None,
    separator: str,
    *,
    state: Any,
) -> Any:
    """The labelled data of `columns` (text, label, pair); `multi` DETECT: several labels per row when the
    label column's cells look so (JSON lists or a common separator)."""
    from lmstudio_app.core.data.labeled import prepare
    from lmstudio_app.core.data.multilabel import detect_separator

    text, label, pair = columns
    if multi is DETECT:
        found = detect_separator(table.frame[label].astype(str).tolist()) if label in table.columns else None
        multi, separator = found is not None, found or separator
    return prepare(table, text, label, pair, merge_variants=merge, multi_label=multi, separator=separator)


def _summary(data: Any, counts: dict[str, int]) -> str:
    """How many examples and classes (multi-label: labels, and how many per row)."""
    dropped = data.dropped_empty
    dropped_text = ""
    if dropped:
        what = "text" if data.label_sets is not None else "text or label"
        dropped_text = f" {dropped:,} row{'s' if dropped != 1 else ''} dropped for an empty {what}."
    if data.label_sets is None:
        classes = f"{len(counts)} class{'es' if len(counts) != 1 else ''}"
        return f"<b>{len(data.labels):,} examples</b> in <b>{classes}</b>." + dropped_text
    per_row = sum(map(len, data.label_sets)) / max(1, len(data))
    none = sum(not row for row in data.label_sets)
    return (
        f"<b>{len(data):,} examples</b> with <b>{len(counts)} label{'s' if len(counts) != 1 else ''}</b>, "
        f"{per_row:.1f} per row on average ({none:,} with none)." + dropped_text
    )


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
        self.multi_box = QCheckBox("Several labels per row, separated by")
        self.multi_box.setToolTip(
            "Multi-label: each row may have any number of the labels (or none); the model gives every label "
            "its own probability"
        )
        self.separator_combo = compact_combo(QComboBox())
        for name, value in SEPARATOR_CHOICES.items():
            self.separator_combo.addItem(name, value)
        for combo in (self.text_combo, self.pair_combo):
            combo.activated.connect(lambda _i: self.refresh())
        self.label_combo.activated.connect(lambda _i: self.refresh(detect=True))
        self.merge_box.toggled.connect(lambda _on: self.refresh())
        self.multi_box.clicked.connect(
            lambda _on: self.refresh()
        )  # the user's clicks (reading sets it silently)
        self.separator_combo.activated.connect(self._separator_chosen)
        form = QFormLayout()
        form.addRow("Text column:", self.text_combo)
        form.addRow("Second text (optional):", self.pair_combo)
        form.addRow("Label column:", self.label_combo)
        labels_row = QHBoxLayout()
        labels_row.addWidget(self.multi_box)
        labels_row.addWidget(self.separator_combo)
        labels_row.addStretch(1)
        form.addRow("Labels per row:", labels_row)
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
            self.refresh(detect=True)
            return
        self.refresh()

    def set_columns(self, text: str, label: str, pair: str | None = None) -> None:
        """Choose the columns as the user would with the three boxes."""
        detect = label != self.label_combo.currentText()
        self.text_combo.setCurrentText(text)
        self.label_combo.setCurrentText(label)
        self.pair_combo.setCurrentIndex(max(0, self.pair_combo.findData(pair)) if pair else 0)
        self.refresh(detect=detect)

    def set_multi_label(self, on: bool, separator: str = ";") -> None:
        """Tick or untick "Several labels per row" with its separator, as the user would."""
        self.multi_box.setChecked(on)
        self.separator_combo.setCurrentIndex(max(0, self.separator_combo.findData(separator)))
        self.refresh()

    def _separator_chosen(self) -> None:
        self.multi_box.setChecked(True)  # picking a separator means several labels per row
        self.refresh()

    def refresh(self, detect: bool = False) -> None:
        """Read the labels again; `detect`: also decide from the label column whether it is multi-label."""
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
        multi = DETECT if detect else self.multi_box.isChecked()
        worker = self.preparer.submit(
            _prepare,
            self.ctx.table,
            (text, label, pair),
            self.ctx.merge_variants,
            multi,
            self.separator_combo.currentData(),
        )
        worker.result.connect(self._show_data)
        worker.error.connect(lambda message, _details: self._show_error(message))
        worker.start()
        self.completeChanged.emit()

    def _show_data(self, data: Any) -> None:
        from lmstudio_app.core.data.labeled import class_counts, label_sort_key

        self.busy = False
        self.ctx.data = data
        counts = class_counts(data)
        self._show_labels_per_row(data)
        self.summary.setText(_summary(data, counts))
        self._show_variants(data)
        self.chart.set_counts(dict(sorted(counts.items(), key=lambda kv: (-kv[1], label_sort_key(kv[0])))))
        warnings = [w for w in data.warnings if len(counts) >= 2 or not w.startswith("only one class")]
        messages = [f"<span style='{message_style('warning')}'>⚠ {html.escape(w)}</span>" for w in warnings]
        if len(counts) < 2:
            noun, nouns = ("label", "labels") if data.label_sets is not None else ("class", "classes")
            self.error = (
                f"Only one {noun} ({html.escape(next(iter(counts), ''))}) in '{html.escape(self.ctx.label_column)}': "
                f"a classifier needs at least two. Pick another label column or add examples of other {nouns}."
            )
            messages.insert(0, f"<span style='{message_style('error')}'><b>{self.error}</b></span>")
        self.messages.setText("<br>".join(messages))
        self.completeChanged.emit()

    def _show_labels_per_row(self, data: Any) -> None:
        """The box and separator as the data was read (a detection ticks them without a signal)."""
        source = data.source
        self.multi_box.setChecked(source.multi_label)
        if source.multi_label:
            self.separator_combo.setCurrentIndex(
                max(0, self.separator_combo.findData(source.label_separator))
            )

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
