"""The Explain panel's dataset map: a table's rows as points, before and after fine-tuning side by side."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.explain.attribution import ExplainOptions, Explanation, explain
from lmstudio_app.core.explain.embed_map import DatasetMap, MapOptions, separation, table_rows
from lmstudio_app.core.models.registry import HEAD_CLS, LoadedModel
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.explain.attribution_view import coloured_html
from lmstudio_app.ui.explain.jobs import build_maps
from lmstudio_app.ui.explain.map_plot import COLOURINGS, MapPlot
from lmstudio_app.ui.qthreading import LatestOnly, Worker
from lmstudio_app.ui.sizing import compact_combo

FILE_FILTER = "Tables (*.csv *.tsv *.txt *.jsonl *.json *.xlsx);;All files (*)"
NONE = "(none)"
TEXT_NAMES = ("text", "sentence", "review", "content", "comment")
LABEL_NAMES = ("label", "labels", "class", "category", "sentiment", "target")


def _read_table(path: str, *, state: Any) -> Any:
    from lmstudio_app.core.data.table import read_table

    return read_table(Path(path), state=state)


def _guess(columns: list[str], names: tuple[str, ...]) -> int:
    lowered = [c.lower() for c in columns]
    return next((lowered.index(n) for n in names if n in lowered), -1)


class MapTab(QWidget):
    """Open a table, pick columns and up to two models, compute; hover reads a row, click explains it."""

    map_shown = Signal()
    row_explained = Signal()
    explain_in_tab = Signal(str, str)  # model key, text: open the row in the attribution tab

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.table: Any = None
        self.latest = LatestOnly(self)
        self.row_latest = LatestOnly(self)
        self.loader: Worker | None = None
        self.maps: list[DatasetMap] = []
        self.map_models: list[str] = []
        self.clicked: tuple[int, int] | None = None  # (plot, row)
        self.row_result: tuple[str, Explanation] | None = None  # the clicked row's header and attribution
        self.open_button = QPushButton("Open table…")
        self.open_button.clicked.connect(self._ask_table)
        self.path_label = QLabel("No table opened.")
        # column names and model keys can be long: size the combos, not the window, by them
        self.text_combo, self.label_combo = compact_combo(QComboBox()), compact_combo(QComboBox())
        self.after_combo, self.before_combo = compact_combo(QComboBox()), compact_combo(QComboBox())
        self.after_combo.setToolTip("The model whose embeddings place the points (e.g. the fine-tuned one)")
        self.before_combo.setToolTip(
            "A second model on the same rows, shown on the left (e.g. the base model)"
        )
        self.pooling_combo = QComboBox()
        self.pooling_combo.addItem("[CLS] vector", "cls")
        self.pooling_combo.addItem("mean of tokens", "mean")
        self.method_combo = QComboBox()
        self.method_combo.addItem("PCA", "pca")
        self.method_combo.addItem("UMAP", "umap")
        self.method_combo.setToolTip(
            "PCA is fast and deterministic; UMAP keeps neighbours together but is slower"
        )
        self.colour_combo = compact_combo(QComboBox(), 16)
        self.colour_combo.currentIndexChanged.connect(self._recolour)
        self.compute_button = QPushButton("Compute map")
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.latest.cancel)
        self.progress = QProgressBar(maximum=1000, textVisible=False)
        self.status = QLabel(wordWrap=True)
        self.plots = [MapPlot(), MapPlot()]
        self.scores = [QLabel(), QLabel()]
        for i, plot in enumerate(self.plots):
            plot.clicked.connect(lambda row, i=i: self.show_row(i, row))
        self.detail = QLabel(wordWrap=True)
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_button = QPushButton("Explain in the Attribution tab", enabled=False)
        self.detail_button.clicked.connect(self._open_in_tab)
        self._layout()
        state.models_changed.connect(self.refresh_models)
        self.refresh_models()

    def _layout(self) -> None:
        form = QGridLayout()
        form.addWidget(self.open_button, 0, 0)
        form.addWidget(self.path_label, 0, 1, 1, 3)
        pairs = [
            ("Text column:", self.text_combo),
            ("Label column:", self.label_combo),
            ("Model (after):", self.after_combo),
            ("Compare with (before):", self.before_combo),
            ("Embedding:", self.pooling_combo),
            ("Projection:", self.method_combo),
        ]
        for i, (text, widget) in enumerate(pairs):
            form.addWidget(QLabel(text), 1 + i // 2, (i % 2) * 2)
            form.addWidget(widget, 1 + i // 2, (i % 2) * 2 + 1)
        buttons = QHBoxLayout()
        for w in (
            self.compute_button,
            self.cancel_button,
            self.progress,
            QLabel("Colour by:"),
            self.colour_combo,
        ):
            buttons.addWidget(w)
        buttons.addStretch(1)
        plots = QGridLayout()
        for i, (plot, score) in enumerate(zip(self.plots, self.scores, strict=True)):
            plots.addWidget(plot, 0, i)
            plots.addWidget(score, 1, i)
        self.plots[0].hide()
        self.scores[0].hide()
        detail = QHBoxLayout()
        detail.addWidget(self.detail, 1)
        detail.addWidget(self.detail_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addLayout(plots, 1)
        layout.addLayout(detail)

    # ---- inputs ------------------------------------------------------------------------------------
    def refresh_models(self) -> None:
        models = self.state.registry.models()
        for combo, extra in ((self.after_combo, []), (self.before_combo, [NONE])):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for name in extra:
                combo.addItem(name, None)
            for m in models:
                combo.addItem(m.key, m.key)
            index = combo.findData(current)
            combo.setCurrentIndex(max(0, index))
            combo.blockSignals(False)

    def select_models(self, after: str | None, before: str | None) -> None:
        self.refresh_models()
        for combo, key in ((self.after_combo, after), (self.before_combo, before)):
            index = combo.findData(key) if key else -1
            if index >= 0:
                combo.setCurrentIndex(index)

    def _ask_table(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Table to map", "", FILE_FILTER)
        if path:
            self.open_table(path)

    def open_table(
        self, path: str | Path, text_column: str | None = None, label_column: str | None = None
    ) -> Worker:
        """Read the table in the background, then offer its columns (guessing text and label)."""
        self.status.setText(f"Reading {Path(path).name}…")
        worker = Worker(_read_table, str(path))
        worker.result.connect(lambda table: self._table_read(table, text_column, label_column))
        worker.error.connect(lambda message, _d: self._say(message, error=True))
        self.loader = worker
        return worker.start()

    def _table_read(self, table: Any, text_column: str | None, label_column: str | None) -> None:
        self.table = table
        columns = table.columns
        self.path_label.setText(f"{table.path} ({len(table.frame):,} rows)")
        self.text_combo.clear()
        self.text_combo.addItems(columns)
        self.label_combo.clear()
        self.label_combo.addItems([NONE, *columns])
        text_index = (
            columns.index(text_column) if text_column in columns else max(0, _guess(columns, TEXT_NAMES))
        )
        self.text_combo.setCurrentIndex(text_index)
        label_index = columns.index(label_column) if label_column in columns else _guess(columns, LABEL_NAMES)
        self.label_combo.setCurrentIndex(label_index + 1)
        self._say("")

    def _model(self, combo: QComboBox) -> LoadedModel | None:
        key = combo.currentData()
        try:
            return self.state.registry.get(key) if key is not None else None
        except KeyError:
            return None

    # ---- computing ---------------------------------------------------------------------------------
    def compute(self) -> Worker | None:
        after, before = self._model(self.after_combo), self._model(self.before_combo)
        if self.table is None:
            self._say("Open a table first (Open table…).", error=True)
            return None
        if after is None:
            self._say(
                "Load a model on the Models tab first: any encoder, masked-LM or classifier.", error=True
            )
            return None
        label = self.label_combo.currentText()
        try:
            texts, labels = table_rows(
                self.table, self.text_combo.currentText(), None if label == NONE else label
            )
        except UserError as exc:  # a missing column or too few rows
            self._say(str(exc), error=True)
            return None
        models = [m for m in (before, after) if m is not None]
        options = MapOptions(pooling=self.pooling_combo.currentData(), method=self.method_combo.currentData())
        worker = self.latest.submit(build_maps, models, texts, labels, options)
        worker.progress.connect(
            lambda f, m: (self.progress.setValue(round(max(0.0, f) * 1000)), self._say(m))
        )
        worker.result.connect(lambda maps: self._show(maps, [m.key for m in models]))
        worker.error.connect(lambda message, _d: self._say(message, error=True))
        worker.cancelled.connect(lambda: self._say("Cancelled."))
        worker.finished.connect(lambda: self.cancel_button.setEnabled(False))
        self.cancel_button.setEnabled(True)
        return worker.start()

    def _say(self, message: str, error: bool = False) -> None:
        self.status.setStyleSheet("color: #c0392b;" if error else "")
        self.status.setText(message)

    def _show(self, maps: list[DatasetMap], keys: list[str]) -> None:
        self.maps, self.map_models = maps, keys
        pair = len(maps) == 2
        self.plots[0].setVisible(pair)
        self.scores[0].setVisible(pair)
        shown = (
            [(self.plots[0], self.scores[0], maps[0]), (self.plots[1], self.scores[1], maps[1])]
            if pair
            else [(self.plots[1], self.scores[1], maps[0])]
        )
        colour = self.colour_combo.currentData() or "label"
        for plot, score, result in shown:
            plot.set_map(result, colour)
            score.setText(self._separation(result))
        self.colour_combo.blockSignals(True)
        self.colour_combo.clear()
        for key in shown[-1][0].available():
            self.colour_combo.addItem(COLOURINGS[key], key)
        self.colour_combo.setCurrentIndex(max(0, self.colour_combo.findData(shown[-1][0].colour_by)))
        self.colour_combo.blockSignals(False)
        self.progress.setValue(1000)
        self._say(f"{len(maps[0].texts):,} rows. Hover a point to read its text; click it to explain it.")
        self.map_shown.emit()

    @staticmethod
    def _separation(result: DatasetMap) -> str:
        role = html.escape(result.model)
        if result.labels is None or len(set(result.labels)) < 2:
            return role
        return f"{role}: class separation (silhouette, -1..1) {separation(result.xy, result.labels):+.3f}"

    def _recolour(self) -> None:
        colour = self.colour_combo.currentData()
        for plot in self.plots:
            if plot.result is not None and colour:
                plot.set_colouring(colour)

    def restyle(self) -> None:
        for plot in self.plots:
            plot.restyle()
        self._render_row()  # its colours are mixed into the theme's background

    # ---- one row -----------------------------------------------------------------------------------
    def _plot_model(self, plot_index: int) -> LoadedModel | None:
        keys = self.map_models if len(self.map_models) == 2 else [None, *self.map_models]
        try:
            return self.state.registry.get(keys[plot_index]) if keys[plot_index] else None
        except KeyError:
            return None

    def show_row(self, plot_index: int, row: int) -> None:
        """The clicked row's text, label and prediction, coloured by Integrated Gradients when the model has a head."""
        self.clicked = (plot_index, row)
        self.row_result = None
        result = self.plots[plot_index].result
        if result is None:
            return
        text = result.texts[row]
        parts = [f"<b>Row {row + 1}</b>"]
        if result.labels is not None:
            parts.append(f"label <b>{html.escape(result.labels[row])}</b>")
        if result.predicted is not None and result.confidence is not None:
            parts.append(
                f"predicted <b>{html.escape(result.predicted[row])}</b> ({fmt.percent(result.confidence[row])})"
            )
        self.detail.setText(" · ".join(parts) + f"<br>{html.escape(text)}")
        model = self._plot_model(plot_index)
        self.detail_button.setEnabled(model is not None and model.has_head(HEAD_CLS))
        if model is None or not model.has_head(HEAD_CLS):
            self.row_explained.emit()
            return
        worker = self.row_latest.submit(explain, model, text, ExplainOptions(method="ig"))
        header = " · ".join(parts)
        worker.result.connect(lambda r: self._row_attribution(header, r))
        worker.error.connect(lambda message, _d: self._say(message, error=True))
        worker.start()

    def _row_attribution(self, header: str, result: Explanation) -> None:
        self.row_result = (header, result)
        self._render_row()
        self.row_explained.emit()

    def _render_row(self) -> None:
        if self.row_result is None:
            return
        header, result = self.row_result
        self.detail.setText(
            f"{header} · Integrated Gradients for <b>{html.escape(result.target)}</b> "
            f"(red: towards it, blue: away)<br>{coloured_html(result.words.words, result.words.scores)}"
        )

    def _open_in_tab(self) -> None:
        if self.clicked is None:
            return
        plot_index, row = self.clicked
        model, result = self._plot_model(plot_index), self.plots[plot_index].result
        if model is not None and result is not None:
            self.explain_in_tab.emit(model.key, result.texts[row])

    def shutdown(self) -> None:
        self.latest.cancel()
        self.row_latest.cancel()
