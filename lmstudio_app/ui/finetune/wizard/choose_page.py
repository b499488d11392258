"""Step 4 (optional): compare candidate base models on a sample of the training rows, then pick one.

Each candidate's size is shown before anything is loaded (parameters from its config on the meta device,
memory per dtype); Rank embeds the same stratified sample with each frozen encoder in turn and orders them
by LogME, with a linear probe's cross-validated accuracy and the embedding time beside it. Next goes on
with the picked row (the best after ranking), or, with none picked, with the Settings page's own choice.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from lmstudio_app.core.models.devices import format_bytes
from lmstudio_app.ui.finetune.wizard.context import WizardContext
from lmstudio_app.ui.finetune.wizard.memory_note import count_text
from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.theme import message_html

COLUMNS = [
    "Compare",
    "Model",
    "From",
    "Parameters",
    "fp32 weights",
    "bf16 weights",
    "LogME",
    "Probe accuracy",
    "Embedding",
]
NAME = COLUMNS.index("Model")
EXPLAIN = (
    "<b>LogME</b> (You et al. 2021): how well the frozen model's sentence vectors predict your labels, as "
    "the evidence of a linear model; higher is better. <b>Probe accuracy</b>: a logistic regression on the "
    "same vectors, cross-validated. Sizes are of the classifier fine-tuning builds, before loading."
)


def _list_job(loaded: list, classes: int, *, state: Any) -> list:
    """The offered candidates, each checked and sized (those that cannot be used are left out)."""
    from lmstudio_app.core.choose.candidates import available_candidates
    from lmstudio_app.core.choose.rank import check_candidate
    from lmstudio_app.core.errors import UserError

    checked = []
    for candidate in available_candidates(loaded):
        state.raise_if_stopped()
        try:
            checked.append(check_candidate(candidate, classes))
        except (UserError, OSError, ValueError):  # a cache entry without weights, an odd config: not offered
            continue
    return checked


def _add_job(spec: str, classes: int, *, state: Any) -> Any:
    from lmstudio_app.core.choose.rank import Candidate, check_candidate

    return check_candidate(Candidate(spec, spec), classes)


def _rank_job(candidates: list, data: Any, sample: int, seed: int, *, state: Any) -> Any:
    from lmstudio_app.core.choose.rank import ChooseOptions, rank_models

    return rank_models(candidates, data, ChooseOptions(sample_size=sample, seed=seed), state=state)


def _centred(box: QCheckBox) -> QWidget:
    """The box in the middle of its cell, outlined in the text colour: Fusion outlines it in a darker
    window colour, which vanishes on the dark theme's table (refreshed when the theme changes)."""
    palette = box.palette()
    palette.setColor(QPalette.ColorRole.Window, palette.color(QPalette.ColorRole.Text))
    box.setPalette(palette)
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(box, alignment=Qt.AlignmentFlag.AlignCenter)
    return holder


def _item(text: str, tip: str = "", align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if tip:
        item.setToolTip(tip)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class _AddEdit(QLineEdit):
    """Return adds the typed candidate and stays on the page (the wizard would take it for Next)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()


class ChoosePage(QWizardPage):
    """Next is always allowed except while ranking; `picked` carries the name the Settings page shows."""

    picked = Signal(str)

    def __init__(self, ctx: WizardContext, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.busy = False
        self.checked: list = []  # core.choose.rank.Checked, in table order
        self.results: dict[str, Any] = {}  # candidate name -> core.choose.rank.Ranked
        self._listed_for: tuple | None = None
        self.setTitle("Base model")
        self.setSubTitle(
            "Optional: compare base models on a sample of your training rows, then pick one. "
            "Next goes on with the picked model, or with the default."
        )
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_pick)
        self.add_edit = _AddEdit(placeholderText="add a candidate: a model folder or a hub id in your cache")
        self.add_edit.returnPressed.connect(self.add_candidate)
        add = QPushButton("Add")
        add.clicked.connect(self.add_candidate)
        self.sample = QSpinBox(minimum=10, maximum=100_000, value=500, singleStep=100, suffix=" rows")
        self.sample.setToolTip("How many training rows each model embeds (stratified by label)")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=42)
        self.rank_button = QPushButton("Rank the ticked models")
        self.rank_button.clicked.connect(self.rank)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar(maximum=1000)
        self.status = QLabel(wordWrap=True)
        self.pick_note = QLabel(wordWrap=True)
        explain = QLabel(EXPLAIN, wordWrap=True)
        row = QHBoxLayout()
        row.addWidget(self.add_edit, 1)
        row.addWidget(add)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Sample:"))
        controls.addWidget(self.sample)
        controls.addWidget(QLabel("seed"))
        controls.addWidget(self.seed)
        controls.addStretch(1)
        controls.addWidget(self.rank_button)
        controls.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(explain)
        layout.addLayout(controls)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.pick_note)
        self.lister = LatestOnly(self)
        self.adder = LatestOnly(self)
        self.ranker = LatestOnly(self)

    # ---- candidates ----------------------------------------------------------------------------------
    def _classes(self) -> int:
        return len(set(self.ctx.train.labels)) if self.ctx.train is not None else 2

    def _loaded(self) -> list:
        app = self.ctx.app
        return app.registry.models() if app is not None else []

    def initializePage(self) -> None:  # noqa: N802
        key = (id(self.ctx.train), tuple(m.key for m in self._loaded()))
        if key == self._listed_for:  # back and forth without a change: keep the table and the ranking
            return
        self._listed_for = key
        self.checked, self.results = [], {}
        self._fill()
        self._set_busy(True, "Finding the candidates and their sizes…")
        worker = self.lister.submit(_list_job, self._loaded(), self._classes())
        worker.result.connect(self._listed)
        worker.error.connect(lambda message, _d: self._finish(message_html("error", message)))
        worker.start()

    def _listed(self, checked: list) -> None:
        self.checked = checked
        self._fill()
        self._finish(f"{len(checked)} candidates. Tick the ones to compare, then rank them.")

    def add_candidate(self) -> None:
        spec = self.add_edit.text().strip()
        if not spec or self.busy:
            return
        if any(c.candidate.spec == spec or c.candidate.name == spec for c in self.checked):
            self.status.setText(message_html("warning", f"{spec} is already in the list."))
            return
        worker = self.adder.submit(_add_job, spec, self._classes())
        worker.result.connect(self._added)
        worker.error.connect(lambda message, _d: self.status.setText(message_html("error", message)))
        worker.start()

    def _added(self, checked: Any) -> None:
        self.checked.append(checked)
        self._fill()
        self.add_edit.clear()
        self.status.setText(f"Added {checked.candidate.name}.")

    # ---- ranking -------------------------------------------------------------------------------------
    def _ticks(self) -> dict[str, bool]:
        """Whether each listed model's box is ticked, by name (check boxes, not checkable items: an item's
        unticked box does not show on the dark theme's table)."""
        rows = range(self.table.rowCount())
        pairs = [(self.table.item(row, NAME), self.table.cellWidget(row, 0)) for row in rows]
        return {item.text(): box.findChild(QCheckBox).isChecked() for item, box in pairs if item and box}

    def ticked(self) -> list:
        """The checked candidates whose box is ticked, in table order."""
        ticks = self._ticks()
        return [c for c in self.checked if ticks.get(c.candidate.name)]

    def rank(self) -> None:
        ticked = [c.candidate for c in self.ticked()]
        if not ticked:
            self.status.setText(message_html("warning", "Tick at least one model to rank."))
            return
        self.progress.setValue(0)
        self._set_busy(True, f"Ranking {len(ticked)} models…")
        worker = self.ranker.submit(_rank_job, ticked, self.ctx.train, self.sample.value(), self.seed.value())
        worker.progress.connect(self._progress)
        worker.result.connect(self._ranked)
        worker.error.connect(lambda message, _d: self._finish(message_html("error", message)))
        worker.cancelled.connect(lambda: self._finish("Cancelled: nothing was ranked."))
        worker.start()
        self.cancel_button.setEnabled(True)

    def cancel(self) -> None:
        self.ranker.cancel()
        self.status.setText("Cancelling after this batch…")

    def _progress(self, fraction: float, message: str) -> None:
        if fraction >= 0:
            self.progress.setValue(round(1000 * fraction))
        self.status.setText(html.escape(message))

    def _ranked(self, ranking: Any) -> None:
        self.results = {r.model: r for r in ranking.models}
        order = {r.model: i for i, r in enumerate(ranking.models)}
        self.checked.sort(key=lambda c: order.get(c.candidate.name, len(order)))
        self._fill()
        self.progress.setValue(1000)
        best = ranking.models[0]
        self.table.selectRow(0)
        self._finish(
            f"Ranked {len(ranking.models)} models on {ranking.rows:,} rows: best first, "
            f"<b>{html.escape(best.model)}</b> picked (pick another row to change)."
        )

    # ---- table and state -----------------------------------------------------------------------------
    def _fill(self) -> None:
        ticks = self._ticks()  # kept across a refill; a new row is ticked unless it only sits in the cache
        self.table.setRowCount(len(self.checked))
        for row, checked in enumerate(self.checked):
            c, size = checked.candidate, checked.footprint
            box = QCheckBox(checked=ticks.get(c.name, c.origin != "cache"), toolTip=f"Rank {c.name}")
            self.table.setCellWidget(row, 0, _centred(box))
            result = self.results.get(c.name)
            cells = [
                _item(c.name, c.spec),
                _item(c.origin),
                _item(count_text(size.parameters), f"{size.parameters:,}", True),
                _item(format_bytes(size.weight_bytes("float32")), "", True),
                _item(format_bytes(size.weight_bytes("bfloat16")), "", True),
                _item(f"{result.score:.3f}" if result else "", "", True),
                _item(f"{100 * result.probe_accuracy:.1f} %" if result else "", "", True),
                _item(f"{result.seconds:.1f} s" if result else "", "", True),
            ]
            for col, item in enumerate(cells, start=1):
                self.table.setItem(row, col, item)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.table.rowCount():
            self._fill()  # the boxes' outlines follow the new theme's text colour

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.busy = busy
        self.rank_button.setEnabled(not busy)
        if not busy:
            self.cancel_button.setEnabled(False)
        if message:
            self.status.setText(message)
        self.completeChanged.emit()

    def _finish(self, message: str) -> None:
        self._set_busy(False, message)

    def picked_candidate(self) -> Any:
        """The candidate of the selected row, None when no row is selected."""
        rows = self.table.selectionModel().selectedRows()
        return self.checked[rows[0].row()].candidate if rows else None

    def _show_pick(self) -> None:
        candidate = self.picked_candidate()
        self.pick_note.setText(
            f"Picked: <b>{html.escape(candidate.name)}</b>. Next sets it as the base model."
            if candidate
            else ""
        )

    def cleanupPage(self) -> None:  # noqa: N802 (Qt's name)
        """Back: a ranking under way stops, as the rows it ranks may change before the page is shown again."""
        self.ranker.cancel()
        super().cleanupPage()

    def isComplete(self) -> bool:  # noqa: N802
        return not self.busy

    def validatePage(self) -> bool:  # noqa: N802
        candidate = self.picked_candidate()
        if candidate is not None:
            self.picked.emit(candidate.name if candidate.origin == "loaded" else candidate.spec)
        return not self.busy
