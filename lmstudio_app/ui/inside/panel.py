"""Inside panel: the primer's formulas computed live on a loaded model, one tab per idea.

Self-attention step by step (a decoder's masked self-attention, an encoder-decoder's cross-attention),
multi-head (contributions and ablation), positions, the layer lens (a causal LM's logit lens) and the
pre-training objectives. The panel owns the model, the sentence(s), Run/Cancel and Export; each view
(ui/inside/*_view.py) builds its core call and draws its result. Heavy work runs on workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.jsonio import write_json
from lmstudio_app.core.models.registry import HEAD_CAUSAL_LM, HEAD_CLS, HEAD_MLM, HEAD_NSP, LoadedModel
from lmstudio_app.core.outputs import check_output_file
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.inside.common import InsideView, save_png, save_svg
from lmstudio_app.ui.inside.heads_view import HeadsView
from lmstudio_app.ui.inside.lens_view import LensView
from lmstudio_app.ui.inside.objectives_view import ObjectivesView
from lmstudio_app.ui.inside.positions_view import PositionsView
from lmstudio_app.ui.inside.steps_view import StepsView
from lmstudio_app.ui.panel import PanelBase
from lmstudio_app.ui.qthreading import Worker
from lmstudio_app.ui.sizing import compact_combo
from lmstudio_app.ui.theme import message_html

DEFAULT_TEXT = "The cat sat on the [MASK] because it was tired."
HEAD_NAMES = {
    HEAD_MLM: "masked-LM",
    HEAD_NSP: "next-sentence",
    HEAD_CLS: "classifier",
    HEAD_CAUSAL_LM: "causal-LM",
}
EXAMPLES = {HEAD_MLM: "the embedded minilm-mlm or bert-base-uncased", HEAD_NSP: "bert-base-uncased"}
NO_MODEL = "Load a model in the Models tab first: a BERT-like model, a causal LM or an encoder-decoder."


class InsidePanel(PanelBase, QWidget):
    """Watch the Transformer's formulas run on any loaded BERT-like model, causal LM or encoder-decoder."""

    title = "Inside"
    result_shown = Signal(str)  # the view's title, once its new result is drawn

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._started = False  # once the user has run a view, switching tabs runs the new one too
        self._build()
        state.models_changed.connect(self.refresh_models)
        state.model_loaded.connect(self._select_model)
        self.refresh_models()

    def _build(self) -> None:
        controls = QGridLayout()
        self.model_combo = compact_combo(QComboBox(), 24)
        self.text_edit = QLineEdit(DEFAULT_TEXT)
        self.text_edit.setPlaceholderText("a sentence; [MASK] where a word is missing (lens, ablation)")
        self.pair_edit = QLineEdit(
            placeholderText="optional sentence B (pairs, next-sentence prediction; an encoder-decoder's output)"
        )
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Compute this view on the model (Enter, Ctrl+Return)")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.cancel)
        self.text_edit.returnPressed.connect(self.run)
        self.pair_edit.returnPressed.connect(self.run)
        self.export_button = QToolButton(text="Export", enabled=False)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        for kind, label in (
            ("png", "PNG of this view…"),
            ("svg", "SVG of this view…"),
            ("json", "JSON of the numbers…"),
        ):
            menu.addAction(label, lambda kind=kind: self._export_dialog(kind))
        self.export_button.setMenu(menu)
        controls.addWidget(QLabel("Model:"), 0, 0)
        controls.addWidget(self.model_combo, 0, 1)
        controls.addWidget(QLabel("Sentence A:"), 0, 2)
        controls.addWidget(self.text_edit, 0, 3)
        controls.addWidget(self.run_button, 0, 4)
        controls.addWidget(self.cancel_button, 0, 5)
        controls.addWidget(QLabel("Sentence B:"), 1, 2)
        controls.addWidget(self.pair_edit, 1, 3)
        controls.addWidget(self.export_button, 1, 4, 1, 2)
        controls.setColumnStretch(3, 1)

        self.status = QLabel("Pick a model and press Run.", wordWrap=True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.tabs = QTabWidget()
        self.views: list[InsideView] = [
            StepsView(self),
            HeadsView(self),
            PositionsView(self),
            LensView(self),
            ObjectivesView(self),
        ]
        for view in self.views:
            self.tabs.addTab(view, view.title)
            view.shown.connect(lambda view=view: self._shown(view))
        self.tabs.currentChanged.connect(self._tab_changed)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)
        run_key = QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.run)
        run_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # ---- models -------------------------------------------------------------------------------------
    def refresh_models(self) -> None:
        current = self.model_combo.currentData()
        self.model_combo.clear()
        for model in self.state.registry.models():
            self.model_combo.addItem(f"{model.key} ({', '.join(model.heads)})", model.key)
        self.model_combo.setCurrentIndex(max(self.model_combo.findData(current), 0))
        has = self.model_combo.count() > 0
        self.run_button.setEnabled(has)
        if not has:
            self.status.setText(NO_MODEL)

    def _select_model(self, key: str) -> None:
        self.refresh_models()
        index = self.model_combo.findData(key)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)

    def current_model(self) -> LoadedModel | None:
        key = self.model_combo.currentData()
        return None if key is None else self.state.registry.get(key)

    def missing_head(self, loaded: LoadedModel, heads: tuple[str, ...], what: str) -> str | None:
        """None if `loaded` has one of `heads`; else one line saying so and naming loaded models that do."""
        if any(loaded.has_head(h) for h in heads):
            return None
        names = " or ".join(HEAD_NAMES[h] for h in heads)
        others = [m.key for m in self.state.registry.models() if any(m.has_head(h) for h in heads)]
        if others:
            instead = f"Loaded models that have one: {', '.join(others)}; pick it above."
        else:
            example = EXAMPLES.get(heads[0], "a fine-tuned classifier")
            instead = f"Load one in the Models tab, e.g. {example}."
        return f"{loaded.name} has no {names} head, which {what} needs. {instead}"

    # ---- running ------------------------------------------------------------------------------------
    def inputs(self) -> tuple[str | None, str, str | None]:
        return self.model_combo.currentData(), self.text_edit.text(), self.pair_edit.text().strip() or None

    def current_view(self) -> InsideView:
        return self.views[self.tabs.currentIndex()]

    def run(self) -> Worker | None:
        """Compute the view on screen for the current model and sentence(s)."""
        self._started = True
        return self.run_view(self.current_view())

    def run_view(self, view: InsideView) -> Worker | None:
        key, text, pair = self.inputs()
        loaded = self.current_model()
        if loaded is None:
            self.status.setText(NO_MODEL)
            return None
        try:
            fn, args, kwargs = view.job(loaded, text, pair)
        except UserError as exc:
            view.show_error(str(exc))
            self.status.setText(message_html("error", exc))
            return None
        worker = view.start(fn, *args, **kwargs)
        worker.progress.connect(lambda _f, message: self.status.setText(message))
        worker.result.connect(lambda result: self._deliver(view, (key, text, pair), result))
        worker.error.connect(lambda message, _tb: self._failed(view, message))
        worker.cancelled.connect(lambda w=worker: self._cancelled(view, w))
        worker.finished.connect(self._update_busy)
        self.cancel_button.setEnabled(True)
        self.status.setText(f"Running {loaded.name}…")
        return worker.start()

    def _deliver(self, view: InsideView, inputs: tuple, result: Any) -> None:
        view.inputs_used = inputs
        view.set_result(result)

    def _failed(self, view: InsideView, message: str) -> None:
        view.show_error(message)
        self.status.setText(message_html("error", message))

    def _cancelled(self, view: InsideView, worker: Worker) -> None:
        """Only a cancel the user asked for is news; a run replaced by a newer one is not."""
        if view.current_worker is worker:
            self.status.setText("Cancelled.")

    def _shown(self, view: InsideView) -> None:
        if view is self.current_view():
            self.export_button.setEnabled(True)
        self.status.setText(f"{view.title}: done. Hover a plot for exact values.")
        self.result_shown.emit(view.title)

    def _update_busy(self) -> None:
        self.cancel_button.setEnabled(any(v.busy for v in self.views))

    def cancel(self) -> None:
        for view in self.views:
            view.cancel()
        self.status.setText("Cancelled.")

    def _tab_changed(self, _index: int) -> None:
        view = self.current_view()
        self.export_button.setEnabled(view.result is not None)
        if self._started and view.inputs_used != self.inputs() and not view.busy:
            self.run_view(view)

    # ---- export -------------------------------------------------------------------------------------
    def export(self, kind: str, path: Path | str) -> Path:
        """The view on screen as PNG or SVG, or its numbers as JSON, written atomically to `path`."""
        view = self.current_view()
        if view.result is None:
            raise UserError(f"Run the {view.title} view first.")
        path = Path(path)
        if kind == "json":
            write_json(path, view.numbers())
        elif kind == "png":
            save_png(view.export_widget(), path)
        elif kind == "svg":
            save_svg(view.export_widget(), path, title=f"Inside: {view.title}")
        else:
            raise UserError(f"Unknown export format {kind!r}: use png, svg or json.")
        return path

    def _export_dialog(self, kind: str) -> None:
        filters = {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)", "json": "JSON (*.json)"}
        stem = self.current_view().title.lower().replace(" ", "-").replace("-/-", "-")
        name, _ = QFileDialog.getSaveFileName(self, "Export", f"inside-{stem}.{kind}", filters[kind])
        if not name:
            return
        try:
            check_output_file(name, (f".{kind}",))
            self.export(kind, name)
        except (UserError, OSError) as exc:
            self.status.setText(message_html("error", exc))
            return
        self.status.setText(f"Saved {name}")

    def shutdown(self) -> None:
        for view in self.views:
            view.cancel()
