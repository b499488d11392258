"""Attention panel: one eager pass on any loaded model, then native views, rollout, neuron view, bertviz.

The pass runs on a worker (newest request wins); every view draws from the plain-numpy AttentionResult
through one `Display` (token range and display options), and only the tab on screen is drawn, so
changing an option never waits on the model or on a hidden tab. The pages live in this folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from lmstudio_app.core.attention.analysis import AttentionAnalysis, HeadStats, Seq2SeqAnalysis, analyse
from lmstudio_app.core.attention.extract import AttentionResult
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.outputs import check_output_file
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.attention.bertviz_page import BertvizPage
from lmstudio_app.ui.attention.controls import PART_NAMES, AttentionControls
from lmstudio_app.ui.attention.display import Display
from lmstudio_app.ui.attention.export import FILTERS, export_attention
from lmstudio_app.ui.attention.maps import OverviewPage, SummaryPage
from lmstudio_app.ui.attention.neuron_page import NeuronPage
from lmstudio_app.ui.attention.rollout_page import RolloutPage
from lmstudio_app.ui.panel import PanelBase
from lmstudio_app.ui.qthreading import LatestOnly, Worker
from lmstudio_app.ui.theme import message_html

TABS = ("Overview", "Head summary", "Rollout", "Neuron", "bertviz")
NO_MODEL = "No model is loaded: load one in the Models tab (any BERT-like model works)."
READY = "Type a sentence (and optionally a second one, B) and press Enter or “Show attention”."
WITHOUT_OPTIONS = {
    "Head summary": "The head summary is computed over the whole input: the display options do not apply.",
    "bertviz": "bertviz draws every token itself: only the token range applies.",
}


class AttentionPanel(PanelBase, QWidget):
    """See a sentence's attention in every layer and head of a loaded model."""

    title = "Attention"

    result_shown = Signal()  # a new result (or window/option change) has been drawn
    bertviz_loaded = Signal(bool)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.result: AttentionResult | None = None  # the whole input (of an encoder-decoder: the part shown)
        self.seq2seq: Seq2SeqAnalysis | None = None  # an encoder-decoder's three attentions
        self.view: AttentionResult | None = None  # the chosen token range
        self.display: Display | None = None
        self.rollout_full: np.ndarray | None = None
        self.stats: HeadStats | None = None
        self.layer = self.head = 0
        self._dirty: set[str] = set()
        self._latest = LatestOnly(self)
        self._window_timer = QTimer(self, singleShot=True, interval=150, timeout=self._apply_window)
        self._build()
        state.models_changed.connect(self.refresh_models)
        state.model_loaded.connect(self._select_model)
        self.refresh_models()

    # ---- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.controls = c = AttentionControls()
        # the names tests, the journey and the export use
        self.model_combo, self.text_edit, self.pair_edit = c.model_combo, c.text_edit, c.pair_edit
        self.show_button, self.start_spin, self.stop_spin = c.show_button, c.start_spin, c.stop_spin
        self.hide_special, self.renormalise, self.threshold = c.hide_special, c.renormalise, c.threshold
        self.export_button = c.export_button
        self.show_button.clicked.connect(self.run)
        self.text_edit.returnPressed.connect(self.run)
        self.pair_edit.returnPressed.connect(self.run)
        for spin in (self.start_spin, self.stop_spin):
            spin.valueChanged.connect(lambda _v: self._window_timer.start())
        for box in (self.hide_special, self.renormalise):
            box.toggled.connect(self._options_changed)
        self.threshold.valueChanged.connect(self._options_changed)
        c.export_menu.triggered.connect(lambda action: self._export_dialog(action.data()))
        self.part_combo = c.part_combo
        self.part_combo.currentIndexChanged.connect(lambda _i: self._show_part())
        self.model_combo.currentIndexChanged.connect(lambda _i: self._family_changed())

        self.status = QLabel(READY, wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout = QLabel("")
        self.readout.setStyleSheet("color: palette(mid);")

        self.overview = OverviewPage()
        self.grid, self.detail, self.detail_title = (
            self.overview.grid,
            self.overview.detail,
            self.overview.detail_title,
        )
        self.overview.head_clicked.connect(self.select_head)
        self.summary = SummaryPage()
        self.summary_page, self.summary_maps = self.summary, self.summary.maps
        self.summary.head_clicked.connect(
            lambda layer, head: (self.select_head(layer, head), self.tabs.setCurrentIndex(0))
        )
        self.rollout_page = RolloutPage()
        self.rollout_map, self.rollout_token, self.rollout_bars = (
            self.rollout_page.map,
            self.rollout_page.token,
            self.rollout_page.bars,
        )
        self.neuron = NeuronPage()
        self.neuron_layer, self.neuron_head, self.neuron_token = (
            self.neuron.layer,
            self.neuron.head,
            self.neuron.token,
        )
        self.neuron_products, self.neuron_bars, self.neuron_note = (
            self.neuron.products,
            self.neuron.bars,
            self.neuron.note,
        )
        self.bertviz = BertvizPage()  # the browser itself starts only when this tab is first drawn
        self.bertviz_choice, self.bertviz_note, self.web = (
            self.bertviz.choice,
            self.bertviz.note,
            self.bertviz.web,
        )
        self.bertviz.choice_changed.connect(lambda: self._mark_dirty("bertviz"))
        self.bertviz.loaded.connect(self.bertviz_loaded)
        for widget in (
            self.grid,
            self.detail,
            self.rollout_map,
            self.rollout_bars,
            self.neuron_products,
            self.neuron_bars,
            *self.summary_maps.values(),
        ):
            widget.hovered.connect(self.readout.setText)

        self.tabs = QTabWidget()
        for page, name in zip(
            (self.overview, self.summary, self.rollout_page, self.neuron, self.bertviz), TABS, strict=True
        ):
            self.tabs.addTab(page, name)
        self.tabs.currentChanged.connect(lambda _i: self._tab_changed())

        # the empty state: until a sentence has been run there is nothing to plot, only a next step
        self.empty = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.empty.setStyleSheet("font-size: 13pt; color: palette(mid);")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.status)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.readout)
        run_key = QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.run)
        run_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)  # other panels may use it too
        run_key.setWhatsThis("Show attention")
        self._tab_changed()

    # ---- models and running ----------------------------------------------------------------------
    def refresh_models(self) -> None:
        current = self.model_combo.currentData()
        self.model_combo.clear()
        for model in self.state.registry.models():  # every head sits on an encoder: all of them work
            self.model_combo.addItem(model.key, model.key)
        index = self.model_combo.findData(current)
        self.model_combo.setCurrentIndex(max(index, 0))
        self._family_changed()
        has = self.model_combo.count() > 0
        self.show_button.setEnabled(has)
        if self.result is None or not has:  # the empty state says what to do next, for the models now loaded
            self.status.setText(READY if has else NO_MODEL)
            self.empty.setText(READY if has else NO_MODEL)

    def _select_model(self, key: str) -> None:
        """A model just loaded in the Models tab becomes the one looked at here."""
        self.refresh_models()
        index = self.model_combo.findData(key)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)

    def _family(self) -> str:
        key = self.model_combo.currentData()
        loaded = self.state.registry.get(key) if key is not None else None
        return loaded.family if loaded is not None and loaded.family in ("causal", "seq2seq") else ""

    def _family_changed(self) -> None:
        self.controls.set_family(self._family())

    def run(self) -> Worker | None:
        """Start the attention pass for the current text (a newer request cancels an older one)."""
        key = self.model_combo.currentData()
        if key is None:
            self.status.setText(NO_MODEL)
            return None
        text, second = self.text_edit.text(), self.pair_edit.text().strip() or None
        if not text.strip():
            self.status.setText("Type a sentence to see its attention.")
            return None
        loaded = self.state.registry.get(key)
        family = self._family()  # the second box: sentence B, an encoder-decoder's target, or unused
        pair = second if family == "" else None
        target = second if family == "seq2seq" else None
        worker = self._latest.submit(analyse, loaded, text, pair, target=target)
        worker.progress.connect(lambda _f, message: self.status.setText(message))
        worker.result.connect(self.set_result)
        worker.error.connect(lambda message, _tb: self.status.setText(message_html("error", message)))
        self.status.setText(f"Running {loaded.name} with eager attention…")
        return worker.start()

    def set_result(self, analysis: AttentionAnalysis | Seq2SeqAnalysis | AttentionResult) -> None:
        """Show a new input's attention (an AttentionResult alone is analysed here, on the GUI thread); of an
        encoder-decoder, the attention chosen above (encoder, decoder or cross)."""
        if isinstance(analysis, AttentionResult):
            analysis = AttentionAnalysis.of(analysis)
        self.seq2seq = analysis if isinstance(analysis, Seq2SeqAnalysis) else None
        if self.seq2seq is not None:
            self._show_part()
        else:
            self._show(analysis)

    def _show_part(self) -> None:
        if self.seq2seq is not None:
            self._show(self.seq2seq.parts[self.part_combo.currentData()])

    def _show(self, analysis: AttentionAnalysis) -> None:
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
        self.layer, self.head = min(self.layer, result.n_layers - 1), min(self.head, result.n_heads - 1)
        self.export_button.setEnabled(True)
        self.stack.setCurrentWidget(self.tabs)
        note = " (truncated to the model's maximum length)" if result.truncated else ""
        pair = (
            f", sentence B from token {result.sentence_b_start} (after the red line, labels in green)"
            if result.sentence_b_start is not None
            else ""
        )
        self.status.setText(
            f"{result.model}: {self._what(result)}{n} tokens{pair}, {result.n_layers} layers x "
            f"{result.n_heads} heads{note}. Hover for exact weights; wheel to zoom, drag to pan."
        )
        self._apply_window()

    def _what(self, result: AttentionResult) -> str:
        """What the numbers are: which attention of an encoder-decoder, and the causal mask."""
        what = ""
        if self.seq2seq is not None:
            s2s = self.seq2seq.attention
            target = "the model's greedy output" if s2s.target_from == "greedy" else "as typed"
            what = (
                f"{PART_NAMES[self.part_combo.currentData()]}, source {s2s.encoder.n_tokens} tokens, target "
                f"{s2s.decoder.n_tokens} tokens ({target}); shown: "
            )
        if result.causal:
            what += "causal (each token attends to itself and earlier ones; hatched cells are masked), "
        return what

    def _apply_window(self) -> None:
        if self.result is None:
            return
        start, stop = self.start_spin.value(), self.stop_spin.value()
        if stop < start:
            start, stop = stop, start
        self.view = self.result.window(start, stop + 1)
        self._options_changed()

    def _options_changed(self) -> None:
        """A new token range or display option: every view but the head summary is out of date."""
        if self.view is None:
            return
        self.display = Display(
            self.view,
            self.hide_special.isChecked(),
            self.renormalise.isChecked(),
            self.controls.threshold_value(),
        )
        self.neuron.set_display(self.display)
        labels = self.display.labels
        for combo in (self.rollout_token, self.neuron_token):
            keep = combo.currentIndex()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(labels)
            combo.setCurrentIndex(min(max(keep, 0), len(labels) - 1))
            combo.blockSignals(False)
        self._dirty = set(TABS)
        self._draw_current()

    def _mark_dirty(self, tab: str) -> None:
        self._dirty.add(tab)
        if TABS[self.tabs.currentIndex()] == tab:
            self._draw_current()

    def _tab_changed(self) -> None:
        tab = TABS[self.tabs.currentIndex()]
        self.controls.set_options_enabled(tab not in WITHOUT_OPTIONS, WITHOUT_OPTIONS.get(tab, ""))
        self._draw_current()

    # ---- drawing ------------------------------------------------------------------------------------
    def _draw_current(self) -> None:
        tab = TABS[self.tabs.currentIndex()]
        if self.display is None or tab not in self._dirty:
            return
        self._dirty.discard(tab)
        if tab == "Overview":
            self.overview.draw(self.display, self.layer, self.head)
        elif tab == "Head summary":
            assert self.stats is not None
            self.summary.draw(self.stats)
        elif tab == "Rollout":  # None for cross-attention: the page says why
            self.rollout_page.draw(self.display, self.rollout_full)
        elif tab == "Neuron":
            self.neuron.draw()
        else:
            self.bertviz.draw(self.seq2seq.attention if self.seq2seq is not None else self.display.view)
        self.result_shown.emit()

    def select_head(self, layer: int, head: int) -> None:
        """Open one head large (Overview) and in the neuron view."""
        self.layer, self.head = layer, head
        self.neuron_layer.setValue(layer)
        self.neuron_head.setValue(head)
        if self.display is not None and "Overview" not in self._dirty:
            self.overview.draw_head(layer, head)

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
        if self.seq2seq is not None:  # the raw weights and bertviz: all three attentions
            whole = self.seq2seq.attention
            return export_attention(kind, path, self.export_widget(), whole, whole)
        return export_attention(kind, path, self.export_widget(), self.result, self.view)

    def _export_dialog(self, kind: str) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export attention", f"attention.{kind}", FILTERS[kind])
        if not name:
            return
        try:
            check_output_file(name, (f".{kind}",))  # x.jpg for a PNG export: said, not a PNG named .jpg
            self.export(kind, name)
        except (UserError, OSError) as exc:
            self.status.setText(message_html("error", exc))
            return
        self.status.setText(f"Saved {name}")

    def shutdown(self) -> None:
        self._latest.cancel()
        self.bertviz.shutdown()
