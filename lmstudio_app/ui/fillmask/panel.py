"""Masked words: type a sentence with masks, see live predictions, compare two models, next-sentence tab.

Predictions run through `LatestOnly` workers after a short debounce, so typing never waits on a model and
an older request is cancelled by a newer one. The text is parsed for masks on the GUI thread (pure
string work) so empty text or a missing mask is explained at once.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.fillmask.predict import FillMaskResult, fill_mask
from lmstudio_app.core.fillmask.text import (
    EXAMPLE,
    MAX_PIECES,
    display_word,
    find_masks,
    require_masks,
)
from lmstudio_app.core.models.registry import HEAD_MLM, HEAD_NSP, LoadedModel
from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM
from lmstudio_app.core.tasks import TaskState
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.explain.hooks import ExplainRequest, open_explain
from lmstudio_app.ui.fillmask.nsp_page import DEBOUNCE_MS, FULL_SIZE_HINT, NspPage
from lmstudio_app.ui.fillmask.result_view import ResultView
from lmstudio_app.ui.navigation import models_button
from lmstudio_app.ui.panel import PanelBase
from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.sizing import compact_combo

__all__ = ["DEBOUNCE_MS", "FillMaskPanel"]


def _fill(loaded: LoadedModel, text: str, fast: bool, *, state: TaskState, **options: Any) -> FillMaskResult:
    """fill_mask on the loaded model, or (fast) on its ONNX Runtime copy, exported on first use."""
    model = loaded.model
    if fast:
        from lmstudio_app.core.optimize.fillmask import fast_runtime

        model = fast_runtime(loaded.model, loaded.tokenizer, loaded.path, state)
    return fill_mask(model, loaded.tokenizer, text, name=loaded.key, state=state, **options)


class FillMaskPanel(PanelBase, QWidget):
    """The masked-word playground (see the module docstring)."""

    title = "Masked words"

    predictions_shown = Signal()  # after any result view got new predictions
    nsp_shown = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._latest = [LatestOnly(self), LatestOnly(self)]
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS, timeout=self.predict_now)
        self._build()
        state.models_changed.connect(self.refresh_models)
        self.refresh_models()

    # ---- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_combo = compact_combo(QComboBox())
        self.model_combo.setToolTip("The loaded model whose masked-LM head fills the masks")
        self.compare_combo = compact_combo(QComboBox())
        self.compare_combo.setToolTip("A second loaded masked-LM model to see side by side")
        self.models_button = models_button(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Model:"))
        top.addWidget(self.model_combo, 2)
        top.addWidget(QLabel("Compare with:"))
        top.addWidget(self.compare_combo, 2)
        top.addWidget(self.models_button)
        self.note = QLabel(wordWrap=True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_predict(), "Predict")
        self.nsp = NspPage(self.state)
        self.nsp.shown.connect(self.nsp_shown)
        # the names the tests and the journey use
        self.nsp_combo, self.nsp_label = self.nsp.combo, self.nsp.label
        self.sentence_a, self.sentence_b = self.nsp.sentence_a, self.nsp.sentence_b
        self.tabs.addTab(self.nsp, "Next sentence")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.tabs, 1)

        self.model_combo.currentIndexChanged.connect(self._models_picked)
        self.compare_combo.currentIndexChanged.connect(self._models_picked)

    def _build_predict(self) -> QWidget:
        page = QWidget()
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText(
            f"Type a sentence and press Ctrl+M where a word is missing, e.g. {EXAMPLE}"
        )
        self.editor.setFixedHeight(70)
        self.editor.textChanged.connect(self.schedule)
        self.mask_button = QPushButton("Insert mask (Ctrl+M)")
        self.mask_button.setToolTip("Insert the model's mask token at the cursor, or mask the selected word")
        self.mask_button.clicked.connect(self.insert_mask)
        self.mask_button.setShortcut(
            "Ctrl+M"
        )  # from anywhere in this tab; the editor's filter handles its own
        self.editor.installEventFilter(self)  # Ctrl+M in the text inserts a mask
        self.pieces_spin = QSpinBox(minimum=1, maximum=MAX_PIECES, value=1, prefix="pieces: ")
        self.pieces_spin.setToolTip(
            "A mask of several pieces predicts one word made of that many word pieces"
        )
        self.top_k_spin = QSpinBox(minimum=1, maximum=50, value=5, prefix="top ")
        self.top_k_spin.valueChanged.connect(self.schedule)
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(["independent", "joint"])
        self.mode_combo.setToolTip(
            "independent: each mask scored alone (as the HF pipeline does); joint: fill the most confident "
            "mask first, re-run, and show the best complete sentences with their joint probability"
        )
        self.mode_combo.currentIndexChanged.connect(self.schedule)
        self.whole_words_box = QCheckBox("Whole words only")
        self.whole_words_box.setToolTip(
            "Hide word pieces such as ##ing and special tokens from the candidates"
        )
        self.whole_words_box.toggled.connect(self.schedule)
        self.fast_box = QCheckBox("Fast runtime")
        self.fast_box.setToolTip(
            "Run the model with ONNX Runtime on the CPU (same candidates, faster); the first use exports "
            "the model to ONNX, which takes a few seconds and is kept for next time"
        )
        self.fast_box.toggled.connect(self.schedule)
        row = QHBoxLayout()
        for widget in (
            self.mask_button,
            self.pieces_spin,
            self.top_k_spin,
            self.mode_combo,
            self.whole_words_box,
            self.fast_box,
        ):
            row.addWidget(widget)
        row.addStretch(1)
        self.targets_edit = QLineEdit(
            placeholderText="target words to score, comma-separated (e.g. mat, carpet)"
        )
        self.targets_edit.textChanged.connect(self.schedule)
        self.status = QLabel()
        self.status.setStyleSheet("color: palette(mid);")

        self.views = [ResultView(), ResultView()]
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for i, view in enumerate(self.views):
            view.picked.connect(self.fill_candidate)
            view.explain.connect(lambda _mask, word, i=i: self.explain_candidate(i, word))
            view.sentence_picked.connect(self.editor.setPlainText)
            self.splitter.addWidget(view)
            view.setObjectName(f"result_view_{i}")
        layout = QVBoxLayout(page)
        layout.addWidget(self.editor)
        layout.addLayout(row)
        layout.addWidget(self.targets_edit)
        layout.addWidget(self.status)
        layout.addWidget(self.splitter, 1)
        return page

    # ---- models -------------------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """Fill the combos from the registry, keeping the user's choices when those models are still loaded."""
        models = self.state.registry.models()
        masked = [m for m in models if m.has_head(HEAD_MLM)]
        self._fill_combo(self.model_combo, models, HEAD_MLM, (masked or models)[:1], None)
        self._fill_combo(self.compare_combo, masked, HEAD_MLM, [], "(none)")
        nsp = [m for m in models if m.has_head(HEAD_NSP)]
        self._fill_combo(self.nsp_combo, models, HEAD_NSP, (nsp or models)[:1], None)
        self._models_picked()
        self.nsp.schedule()

    @staticmethod
    def _fill_combo(
        combo: QComboBox, models: list[LoadedModel], head: str, default: list[LoadedModel], none: str | None
    ) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        if none is not None:
            combo.addItem(none, None)
        missing = {HEAD_MLM: "no masked-LM head", HEAD_NSP: "no next-sentence head"}[head]
        for m in models:
            combo.addItem(m.key if m.has_head(head) else f"{m.key} ({missing})", m.key)
        useful = [m.key for m in models if m.has_head(head)]
        # Keep the user's choice unless it lacks the head and a model that has it is now loaded.
        if current in useful or (current in [m.key for m in models] and not useful):
            combo.setCurrentIndex(combo.findData(current))
        elif default:
            combo.setCurrentIndex(combo.findData(default[0].key))
        combo.blockSignals(False)

    def _model(self, combo: QComboBox) -> LoadedModel | None:
        key = combo.currentData()
        if key is None:
            return None
        try:
            return self.state.registry.get(key)
        except KeyError:
            return None

    def _models_picked(self) -> None:
        self.note.setText(self._note())
        self.views[1].setVisible(self._model(self.compare_combo) is not None)
        self.schedule()

    def _note(self) -> str:
        """What the user should know about the chosen model: none loaded, no head, or a small demo model."""
        models = self.state.registry.models()
        masked = [m.key for m in models if m.has_head(HEAD_MLM)]
        how = f"load one on the Models tab (e.g. {FULL_SIZE_HINT}, or the embedded {DEFAULT_MASKED_LM})"
        if not models:
            return f"No model is loaded: {how}."
        chosen = self._model(self.model_combo)
        if chosen is not None and not chosen.has_head(HEAD_MLM):
            others = f"Loaded models that have one: {', '.join(masked)}." if masked else f"None does: {how}."
            return f"{chosen.key} has no masked-LM head, so it cannot fill masks. {others}"
        if chosen is not None and chosen.name == DEFAULT_MASKED_LM:
            return (
                f"{DEFAULT_MASKED_LM} is a small demo model, so its guesses are rough. For better predictions "
                f"load a full-size model such as {FULL_SIZE_HINT} on the Models tab."
            )
        return ""

    # ---- editing ------------------------------------------------------------------------------------
    def mask_token(self) -> str:
        chosen = self._model(self.model_combo)
        token = getattr(getattr(chosen, "tokenizer", None), "mask_token", None)
        return token or "[MASK]"

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if (
            watched is self.editor
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.keyCombination().toCombined() == QKeySequence("Ctrl+M")[0].toCombined()
        ):
            self.insert_mask()
            return True
        return super().eventFilter(watched, event)

    def insert_mask(self) -> None:
        """Put the model's mask token at the cursor, or in place of the selected word."""
        pieces = self.pieces_spin.value()
        token = self.mask_token() + (f"x{pieces}" if pieces > 1 else "")
        cursor = self.editor.textCursor()
        if not cursor.hasSelection():
            before = self.editor.toPlainText()[: cursor.position()]
            if before and not before[-1].isspace():
                token = " " + token
        cursor.insertText(token)
        self.editor.setFocus()

    def fill_candidate(self, index: int, word: str) -> None:
        """Replace mask number `index` of the current text with `word` (an undoable edit)."""
        text = self.editor.toPlainText()
        spans = find_masks(text, self.mask_token())
        if index >= len(spans):
            return
        cursor = self.editor.textCursor()
        cursor.setPosition(spans[index].start)
        cursor.setPosition(spans[index].end, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(display_word(word))

    def explain_candidate(self, view: int, word: str) -> None:
        """The Explain tab on why the model (of result view `view`) puts `word` at the mask."""
        model = self._model(self.compare_combo if view else self.model_combo)
        key = model.key if model is not None else None
        open_explain(
            self, ExplainRequest(self.editor.toPlainText(), model_key=key, candidate=word), self.state
        )

    # ---- predicting ---------------------------------------------------------------------------------
    def schedule(self) -> None:
        self._timer.start()

    def predict_now(self) -> None:
        """Start (or restart) a prediction for each visible view; each cancels its own older request."""
        text = self.editor.toPlainText()
        targets = [w.strip() for w in self.targets_edit.text().split(",") if w.strip()]
        options = {
            "top_k": self.top_k_spin.value(),
            "mode": self.mode_combo.currentText(),
            "whole_words": self.whole_words_box.isChecked(),
            "targets": targets,
        }
        chosen = [self._model(self.model_combo), self._model(self.compare_combo)]
        self.status.setText("")
        for i, (view, model) in enumerate(zip(self.views, chosen, strict=True)):
            self._latest[i].cancel()
            fast = " · ONNX Runtime" if self.fast_box.isChecked() else ""
            view.title.setText("" if model is None else model.key + fast)
            if model is None or not model.has_head(HEAD_MLM):  # the note above says why and what to do
                view.clear()
                view.show_message("")
                continue
            try:
                require_masks(text, model.tokenizer.mask_token)
            except UserError as exc:
                view.clear()
                view.show_message(
                    str(exc) if text.strip() else f"Type a sentence with a mask, e.g. {EXAMPLE}"
                )
                continue
            self.status.setText("Predicting…")
            worker = self._latest[i].submit(_fill, model, text, self.fast_box.isChecked(), **options)
            worker.progress.connect(lambda _f, message: self.status.setText(message) if message else None)
            worker.result.connect(lambda result, view=view: self._show(view, result))
            worker.error.connect(lambda message, _details, view=view: self._error(view, message))
            worker.start()

    def _show(self, view: ResultView, result: FillMaskResult) -> None:
        view.show_result(result)
        self.status.setText("")
        self.predictions_shown.emit()

    def _error(self, view: ResultView, message: str) -> None:
        view.clear()
        view.show_message(message)
        self.status.setText("")
        self.predictions_shown.emit()

    def shutdown(self) -> None:
        for latest in self._latest:
            latest.cancel()
        self.nsp.shutdown()
