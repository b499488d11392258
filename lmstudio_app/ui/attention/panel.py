"""Attention panel: one eager pass on any loaded model, then native views, rollout, neuron view, bertviz.

The pass runs on a worker (newest request wins); every view draws from the plain-numpy AttentionResult,
and only the tab on screen is drawn, so changing an option never waits on the model or on a hidden tab.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.attention.bertviz import assets_help, bertviz_html, missing_assets
from lmstudio_app.core.attention.extract import (
    AttentionAnalysis,
    AttentionResult,
    HeadStats,
    analyse,
    display_matrix,
    head_statistics,
    neuron_view,
    rollout,
)
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.jsonio import write_text
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.panel import PanelBase
from lmstudio_app.ui.qthreading import LatestOnly, Worker
from lmstudio_app.ui.widgets.attention_grid import AttentionGrid
from lmstudio_app.ui.widgets.heatmap import Heatmap, export_png, export_svg
from lmstudio_app.ui.widgets.token_bars import TokenBars
from lmstudio_app.ui.widgets.web_view import OfflineWebView

TABS = ("Overview", "Head summary", "Rollout", "Neuron", "bertviz")
BERTVIZ_CHOICES = {
    "Head view + model view": ("head", "model"),
    "Head view": ("head",),
    "Model view": ("model",),
}
BERTVIZ_SLOW_TOKENS = 60  # bertviz draws a line per token pair and head: slow above this
BERTVIZ_MAX_TOKENS = 128  # and unusable above this (a 512-token page is 100 MB)
SUMMARY = (
    ("entropy", "Entropy (nats): low = focused", "{:.3f}"),
    ("distance", "Mean distance (tokens)", "{:.2f}"),
    ("special_share", "Share on [CLS]/[SEP]", "{:.1%}"),
)


class AttentionPanel(PanelBase, QWidget):
    """See a sentence's attention in every layer and head of a loaded model."""

    title = "Attention"

    result_shown = Signal()  # a new result (or window/option change) has been drawn
    bertviz_loaded = Signal(bool)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.result: AttentionResult | None = None  # the whole input
        self.view: AttentionResult | None = None  # the chosen token range
        self.rollout_full: np.ndarray | None = None
        self.stats: HeadStats | None = None
        self._weights = np.zeros((0, 0, 0, 0), dtype=np.float32)
        self.layer = self.head = 0
        self._dirty: set[str] = set()
        self._latest = LatestOnly(self)
        self._html_latest = LatestOnly(self)  # a newer page (range, choice) replaces one still being built
        self._window_timer = QTimer(self, singleShot=True, interval=150, timeout=self._apply_window)
        self._build()
        state.models_changed.connect(self.refresh_models)
        state.model_loaded.connect(self._select_model)
        self.refresh_models()

    # ---- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        controls = QGridLayout()
        self.model_combo = QComboBox()
        self.model_combo.setMinimumContentsLength(24)
        self.text_edit = QLineEdit("The cat sat on the mat because it was tired.")
        self.text_edit.setPlaceholderText("a sentence to look at")
        self.pair_edit = QLineEdit(placeholderText="optional second sentence (B) for sentence-pair models")
        self.show_button = QPushButton("Show attention")
        self.show_button.setToolTip("Run the model once with eager attention (Enter)")
        self.show_button.clicked.connect(self.run)
        self.text_edit.returnPressed.connect(self.run)
        self.pair_edit.returnPressed.connect(self.run)
        controls.addWidget(QLabel("Model:"), 0, 0)
        controls.addWidget(self.model_combo, 0, 1)
        controls.addWidget(QLabel("Sentence A:"), 0, 2)
        controls.addWidget(self.text_edit, 0, 3)
        controls.addWidget(self.show_button, 0, 4)
        controls.addWidget(QLabel("Sentence B:"), 1, 2)
        controls.addWidget(self.pair_edit, 1, 3)

        options = QHBoxLayout()
        self.start_spin = QSpinBox()
        self.stop_spin = QSpinBox()
        for spin in (self.start_spin, self.stop_spin):
            spin.setEnabled(False)
            spin.valueChanged.connect(lambda _v: self._window_timer.start())
        self.start_spin.setToolTip("First token shown (long inputs: look at a range instead of a wall)")
        self.stop_spin.setToolTip("Last token shown")
        self.hide_special = QCheckBox("Hide [CLS]/[SEP]/padding")
        self.renormalise = QCheckBox("Renormalise rows")
        self.renormalise.setToolTip("After hiding tokens, rescale each row so it sums to 1 again")
        self.threshold = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=50, value=0)
        self.threshold.setFixedWidth(140)
        self.threshold.setToolTip("Hide weights below this value")
        self.threshold_label = QLabel("≥ 0.00")
        for box in (self.hide_special, self.renormalise):
            box.toggled.connect(self._options_changed)
        self.threshold.valueChanged.connect(self._options_changed)
        self.export_button = QToolButton(text="Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("PNG of this view…", lambda: self._export_dialog("png"))
        menu.addAction("SVG of this view…", lambda: self._export_dialog("svg"))
        menu.addAction("Offline bertviz HTML…", lambda: self._export_dialog("html"))
        menu.addAction("JSON of the weights…", lambda: self._export_dialog("json"))
        self.export_button.setMenu(menu)
        self.export_button.setEnabled(False)
        options.addWidget(QLabel("Tokens"))
        options.addWidget(self.start_spin)
        options.addWidget(QLabel("to"))
        options.addWidget(self.stop_spin)
        options.addSpacing(12)
        options.addWidget(self.hide_special)
        options.addWidget(self.renormalise)
        options.addSpacing(12)
        options.addWidget(QLabel("Threshold"))
        options.addWidget(self.threshold)
        options.addWidget(self.threshold_label)
        options.addStretch(1)
        options.addWidget(self.export_button)

        self.status = QLabel("Type a sentence and press Enter.", wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout = QLabel("")
        self.readout.setStyleSheet("color: palette(mid);")

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_overview(), TABS[0])
        self.tabs.addTab(self._build_summary(), TABS[1])
        self.tabs.addTab(self._build_rollout(), TABS[2])
        self.tabs.addTab(self._build_neuron(), TABS[3])
        self.tabs.addTab(self._build_bertviz(), TABS[4])
        self.tabs.currentChanged.connect(lambda _i: self._draw_current())

        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(options)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.readout)
        run_key = QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.run)
        run_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)  # other panels may use it too
        run_key.setWhatsThis("Show attention")

    def _hover(self, widget) -> None:
        widget.hovered.connect(lambda text: self.readout.setText(text))

    def _build_overview(self) -> QWidget:
        self.grid = AttentionGrid()
        self.grid.setToolTip(
            "Every head; click one to open it on the right, double-click to see the whole grid"
        )
        self.grid.cell_clicked.connect(self.select_head)
        self._hover(self.grid)
        self.detail = Heatmap()
        self._hover(self.detail)
        self.detail_title = QLabel("Click a head in the grid")
        right = QWidget()
        box = QVBoxLayout(right)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.detail_title)
        box.addWidget(self.detail, 1)
        split = QSplitter()
        split.addWidget(self.grid)
        split.addWidget(right)
        split.setSizes([620, 420])
        return split

    def _build_summary(self) -> QWidget:
        self.summary_page = QWidget()
        outer = QVBoxLayout(self.summary_page)
        outer.addWidget(
            QLabel("Each head over the whole input (rows: layers, columns: heads); click a cell to open it.")
        )
        box = QHBoxLayout()
        outer.addLayout(box, 1)
        self.summary_maps: dict[str, Heatmap] = {}
        for key, title, fmt in SUMMARY:
            column = QVBoxLayout()
            column.addWidget(QLabel(title))
            heat = Heatmap()
            heat.value_format = fmt
            heat.cell_clicked.connect(
                lambda layer, head: (self.select_head(layer, head), self.tabs.setCurrentIndex(0))
            )
            self._hover(heat)
            self.summary_maps[key] = heat
            column.addWidget(heat, 1)
            box.addLayout(column, 1)
        return self.summary_page

    def _build_rollout(self) -> QWidget:
        self.rollout_map = Heatmap()
        self._hover(self.rollout_map)
        self.rollout_token = QComboBox()
        self.rollout_token.currentIndexChanged.connect(lambda _i: self._draw_rollout_bars())
        self.rollout_bars = TokenBars(y_title="share")
        self._hover(self.rollout_bars)
        bottom = QWidget()
        box = QVBoxLayout(bottom)
        row = QHBoxLayout()
        row.addWidget(QLabel("Rollout (Abnar & Zuidema 2020) of token:"))
        row.addWidget(self.rollout_token)
        row.addStretch(1)
        box.addLayout(row)
        box.addWidget(self.rollout_bars, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.rollout_map)
        split.addWidget(bottom)
        split.setSizes([600, 300])
        return split

    def _build_neuron(self) -> QWidget:
        self.neuron_layer = QSpinBox()
        self.neuron_head = QSpinBox()
        self.neuron_token = QComboBox()
        for spin in (self.neuron_layer, self.neuron_head):
            spin.valueChanged.connect(lambda _v: self._draw_neuron())
        self.neuron_token.currentIndexChanged.connect(lambda _i: self._draw_neuron())
        self.neuron_products = Heatmap(colormap="diverging")
        self.neuron_products.value_format = "{:+.4f}"
        self._hover(self.neuron_products)
        self.neuron_bars = TokenBars(y_title="weight")
        self._hover(self.neuron_bars)
        self.neuron_note = QLabel(wordWrap=True)
        page = QWidget()
        box = QVBoxLayout(page)
        row = QHBoxLayout()
        for label, widget in (
            ("Layer", self.neuron_layer),
            ("Head", self.neuron_head),
            ("Query token", self.neuron_token),
        ):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addStretch(1)
        box.addLayout(row)
        box.addWidget(self.neuron_note)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.neuron_products)
        split.addWidget(self.neuron_bars)
        split.setSizes([600, 250])
        box.addWidget(split, 1)
        return page

    def _build_bertviz(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        row = QHBoxLayout()
        self.bertviz_choice = QComboBox()
        self.bertviz_choice.addItems(list(BERTVIZ_CHOICES))
        self.bertviz_choice.currentIndexChanged.connect(lambda _i: self._mark_dirty("bertviz"))
        row.addWidget(QLabel("Show:"))
        row.addWidget(self.bertviz_choice)
        row.addStretch(1)
        box.addLayout(row)
        self.bertviz_note = QLabel(wordWrap=True)
        self.bertviz_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.bertviz_note)
        self.web = OfflineWebView()  # the browser itself starts only when this tab is first shown
        self.web.load_finished.connect(self.bertviz_loaded)
        self.web.hide()  # shown once there is a page to show (and the JavaScript to draw it)
        box.addWidget(self.web, 1)
        return page

    # ---- models and running ----------------------------------------------------------------------
    def refresh_models(self) -> None:
        current = self.model_combo.currentData()
        self.model_combo.clear()
        for model in self.state.registry.models():  # every head sits on an encoder: all of them work
            self.model_combo.addItem(model.key, model.key)
        index = self.model_combo.findData(current)
        self.model_combo.setCurrentIndex(max(index, 0))
        has = self.model_combo.count() > 0
        self.show_button.setEnabled(has)
        if not has:
            self.status.setText("Load a model in the Models tab first; any BERT-like model works.")

    def _select_model(self, key: str) -> None:
        """A model just loaded in the Models tab becomes the one looked at here."""
        self.refresh_models()
        index = self.model_combo.findData(key)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)

    def run(self) -> Worker | None:
        """Start the attention pass for the current text (a newer request cancels an older one)."""
        key = self.model_combo.currentData()
        if key is None:
            self.status.setText("Load a model in the Models tab first; any BERT-like model works.")
            return None
        text, pair = self.text_edit.text(), self.pair_edit.text().strip() or None
        if not text.strip():
            self.status.setText("Type a sentence to see its attention.")
            return None
        loaded = self.state.registry.get(key)
        worker = self._latest.submit(analyse, loaded, text, pair)
        worker.progress.connect(lambda _f, message: self.status.setText(message))
        worker.result.connect(self.set_result)
        worker.error.connect(
            lambda message, _tb: self.status.setText(f"<span style='color:#c0392b'>{message}</span>")
        )
        self.status.setText(f"Running {loaded.name} with eager attention…")
        return worker.start()

    def set_result(self, analysis: AttentionAnalysis | AttentionResult) -> None:
        """Show a new input's attention (an AttentionResult alone is analysed here, on the GUI thread)."""
        if isinstance(analysis, AttentionResult):
            analysis = AttentionAnalysis(analysis, rollout(analysis.attentions), head_statistics(analysis))
        result = self.result = analysis.result
        self.rollout_full = analysis.rollout
        self.stats = analysis.stats  # of the whole input, whatever token range is shown
        n = result.n_tokens
        for spin, value in ((self.start_spin, 0), (self.stop_spin, n - 1)):
            spin.blockSignals(True)
            spin.setRange(0, n - 1)
            spin.setValue(value)
            spin.setEnabled(True)
            spin.blockSignals(False)
        self.neuron_layer.setRange(0, result.n_layers - 1)
        self.neuron_head.setRange(0, result.n_heads - 1)
        self.layer, self.head = min(self.layer, result.n_layers - 1), min(self.head, result.n_heads - 1)
        self.export_button.setEnabled(True)
        note = " (truncated to the model's maximum length)" if result.truncated else ""
        pair = (
            f", sentence B from token {result.sentence_b_start}"
            if result.sentence_b_start is not None
            else ""
        )
        self.status.setText(
            f"{result.model}: {n} tokens{pair}, {result.n_layers} layers x {result.n_heads} heads{note}. "
            "Hover for exact weights; wheel to zoom, drag to pan."
        )
        self._apply_window()

    def _apply_window(self) -> None:
        if self.result is None:
            return
        start, stop = self.start_spin.value(), self.stop_spin.value()
        if stop < start:
            start, stop = stop, start
        self.view = self.result.window(start, stop + 1)
        self._fill_token_choices()
        self._dirty = set(TABS)
        self._draw_current()

    def _fill_token_choices(self) -> None:
        assert self.view is not None
        labels = [f"{i + self.view.offset}: {t}" for i, t in enumerate(self.view.tokens)]
        for combo in (self.rollout_token, self.neuron_token):
            keep = combo.currentIndex()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(labels)
            combo.setCurrentIndex(min(max(keep, 0), len(labels) - 1))
            combo.blockSignals(False)

    def _options_changed(self) -> None:
        self.threshold_label.setText(f"≥ {self.threshold.value() / 100:.2f}")
        for tab in ("Overview", "Rollout"):
            self._mark_dirty(tab)

    def _mark_dirty(self, tab: str) -> None:
        self._dirty.add(tab)
        if TABS[self.tabs.currentIndex()] == tab:
            self._draw_current()

    # ---- drawing ------------------------------------------------------------------------------------
    def _keep(self) -> np.ndarray | None:
        if self.view is None or not self.hide_special.isChecked():
            return None
        keep = ~self.view.special
        return keep if keep.any() else None

    def _kept_tokens(self) -> list[str]:
        assert self.view is not None
        keep = self._keep()
        return [t for i, t in enumerate(self.view.tokens) if keep is None or keep[i]]

    def _shown(self, matrix: np.ndarray) -> np.ndarray:
        return display_matrix(
            matrix, self._keep(), self.renormalise.isChecked(), self.threshold.value() / 100.0
        )

    def _draw_current(self) -> None:
        tab = TABS[self.tabs.currentIndex()]
        if self.view is None or tab not in self._dirty:
            return
        self._dirty.discard(tab)
        {
            "Overview": self._draw_overview,
            "Head summary": self._draw_summary,
            "Rollout": self._draw_rollout,
            "Neuron": self._draw_neuron,
            "bertviz": self._draw_bertviz,
        }[tab]()
        self.result_shown.emit()

    def _draw_overview(self) -> None:
        assert self.view is not None
        self._weights = self._shown(self.view.attentions)
        tokens = self._kept_tokens()
        self.grid.set_weights(self._weights, tokens)
        self.grid.select(self.layer, self.head)
        self._draw_detail()

    def _draw_detail(self) -> None:
        tokens = self._kept_tokens()
        self.detail_title.setText(f"Layer {self.layer}, head {self.head}: rows attend to columns")
        self.detail.set_matrix(
            self._weights[self.layer, self.head], tokens, tokens, row_title="query", col_title="key"
        )

    def select_head(self, layer: int, head: int) -> None:
        """Open one head large (Overview) and in the neuron view."""
        self.layer, self.head = layer, head
        self.neuron_layer.setValue(layer)
        self.neuron_head.setValue(head)
        if self.view is not None and "Overview" not in self._dirty:
            self.grid.select(layer, head)
            self._draw_detail()

    def _draw_summary(self) -> None:
        assert self.stats is not None
        layers = [str(i) for i in range(self.stats.entropy.shape[0])]
        heads = [str(i) for i in range(self.stats.entropy.shape[1])]
        for key, _title, _fmt in SUMMARY:
            values = getattr(self.stats, key)
            # share: on its absolute scale; entropy and distance: stretched so that the heads' differences show
            low, high = float(values.min()), float(values.max())
            levels = (0.0, 1.0) if key == "special_share" else (low, high if high > low else low + 1e-6)
            self.summary_maps[key].set_matrix(
                values, layers, heads, levels=levels, row_title="layer", col_title="head"
            )

    def _draw_rollout(self) -> None:
        assert self.view is not None and self.rollout_full is not None
        start, stop = self.view.offset, self.view.offset + self.view.n_tokens
        tokens = self._kept_tokens()
        self.rollout_map.set_matrix(
            self._shown(self.rollout_full[start:stop, start:stop]),
            tokens,
            tokens,
            row_title="output token",
            col_title="input token",
        )
        self._draw_rollout_bars()

    def _draw_rollout_bars(self) -> None:
        if self.view is None or self.rollout_full is None:
            return
        i = max(self.rollout_token.currentIndex(), 0)
        start, stop = self.view.offset, self.view.offset + self.view.n_tokens
        row = self.rollout_full[start + i, start:stop]
        self.rollout_bars.set_values(
            row,
            self.view.tokens,
            highlight=i,
            title=f"What the last layer's “{self.view.tokens[i]}” draws from each input token",
        )

    def _draw_neuron(self) -> None:
        if self.view is None:
            return
        layer, head, token = (
            self.neuron_layer.value(),
            self.neuron_head.value(),
            max(self.neuron_token.currentIndex(), 0),
        )
        try:
            nv = neuron_view(self.view, layer, head, token)
        except UserError as exc:
            self.neuron_note.setText(str(exc))
            self.neuron_products.set_matrix(np.zeros((0, 0)), [], [])
            return
        tokens = self.view.tokens
        self.neuron_note.setText(
            f"Query “{tokens[token]}” (layer {layer}, head {head}) against every key: each cell is q[d]·k[d]; "
            f"a row sums (÷√{nv.query.shape[0]}) to the key's score, and the softmax of the scores gives the weights "
            "below (models with relative positions add a bias, so the bars show the weights the model really used)."
        )
        dims = [str(d) for d in range(nv.products.shape[1])]
        self.neuron_products.set_matrix(nv.products, tokens, dims, row_title="key", col_title="dimension")
        self.neuron_bars.set_values(
            nv.attention, tokens, highlight=token, title="attention weight of each key"
        )

    def _draw_bertviz(self) -> None:
        assert self.view is not None
        missing = missing_assets()
        if missing:
            self.bertviz_note.setText(assets_help() + " The native tabs work without it.")
            self.web.hide()
            return
        n = self.view.n_tokens
        if n > BERTVIZ_MAX_TOKENS:
            self.bertviz_note.setText(
                f"{n} tokens is too many for bertviz (it draws a line per token pair and head): choose at most "
                f"{BERTVIZ_MAX_TOKENS} with the token range above. The native tabs show every token."
            )
            self.web.hide()
            return
        self.web.show()
        self.bertviz_note.setText(
            f"{n} tokens: bertviz gets slow above {BERTVIZ_SLOW_TOKENS}; narrow the token range above."
            if n > BERTVIZ_SLOW_TOKENS
            else "bertviz's head and model views, rendered offline (no network)."
        )
        views = BERTVIZ_CHOICES[self.bertviz_choice.currentText()]
        worker = self._html_latest.submit(
            lambda view, views, state: bertviz_html(view, views), self.view, views
        )
        worker.result.connect(self.web.set_html)
        worker.error.connect(lambda message, _tb: self.bertviz_note.setText(message))
        worker.start()

    # ---- export -------------------------------------------------------------------------------------
    def export_widget(self) -> QWidget:
        """The native view a PNG/SVG export draws: the one on screen (the overview grid for bertviz)."""
        tab = TABS[self.tabs.currentIndex()]
        return {
            "Overview": self.grid,
            "Head summary": self.summary_page,
            "Rollout": self.rollout_map,
            "Neuron": self.neuron_products,
        }.get(tab, self.grid)

    def export(self, kind: str, path: Path | str) -> Path:
        """Write the current view (png, svg), the bertviz page (html) or the raw weights (json) to `path`."""
        if self.result is None or self.view is None:
            raise UserError("Show a sentence's attention first.")
        path = Path(path)
        if kind == "png":
            export_png(self.export_widget(), path)  # at its size on screen
        elif kind == "svg":
            export_svg(self.export_widget(), path, title=f"Attention of {self.result.model}")
        elif kind == "html":
            if self.view.n_tokens > BERTVIZ_MAX_TOKENS:
                raise UserError(
                    f"bertviz cannot draw {self.view.n_tokens} tokens: choose at most {BERTVIZ_MAX_TOKENS} "
                    "with the token range, then export again."
                )
            write_text(path, bertviz_html(self.view))
        elif kind == "json":
            write_text(path, json.dumps(self.result.to_json(), ensure_ascii=False))
        else:
            raise UserError(f"Unknown export format {kind!r}: use png, svg, html or json.")
        return path

    def _export_dialog(self, kind: str) -> None:
        filters = {
            "png": "PNG image (*.png)",
            "svg": "SVG image (*.svg)",
            "html": "Web page (*.html)",
            "json": "JSON (*.json)",
        }
        name, _ = QFileDialog.getSaveFileName(self, "Export attention", f"attention.{kind}", filters[kind])
        if not name:
            return
        try:
            self.export(kind, name)
        except (UserError, OSError) as exc:
            self.status.setText(f"<span style='color:#c0392b'>{exc}</span>")
            return
        self.status.setText(f"Saved {name}")

    def shutdown(self) -> None:
        self._latest.cancel()
        self._html_latest.cancel()
        self.web.shutdown()
