"""Masked words: type a sentence with masks, see live predictions, compare two models, next-sentence tab.

Predictions run through `LatestOnly` workers after a short debounce, so typing never waits on a model and
an older request is cancelled by a newer one. The text is parsed for masks on the GUI thread (pure
string work) so empty text or a missing mask is explained at once.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.fillmask.nsp import next_sentence_probability
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
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.explain.hooks import ExplainRequest, add_explain_action, open_explain
from lmstudio_app.ui.panel import PanelBase
from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.widgets.candidate_bars import CandidateBars

DEBOUNCE_MS = 200
FULL_SIZE_HINT = "bert-base-uncased"


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return table


def _fill_rows(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c > 0:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


def _pct(p: float) -> str:
    return f"{p * 100:.2f} %" if p >= 1e-4 else f"{p:.2e}"


class MaskView(QGroupBox):
    """One mask's candidates: a table and a bar chart; clicking either picks the word."""

    picked = Signal(int, str)  # mask index, word
    explain = Signal(int, str)  # mask index, word: right-click "Explain this candidate…"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = 0
        self.words: list[str] = []
        self.table = _table(["Word", "Probability"])
        self.table.setToolTip("Click a word to put it into the sentence")
        self.table.cellClicked.connect(lambda row, _col: self._pick(row))
        add_explain_action(
            self.table, "Explain this candidate…", lambda r: self.explain.emit(self.index, self.words[r])
        )
        self.bars = CandidateBars()
        self.bars.picked.connect(self._pick)
        layout = QHBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.bars, 1)

    def show_candidates(self, index: int, title: str, words: list[str], scores: list[float]) -> None:
        self.index, self.words = index, words
        self.setTitle(title)
        _fill_rows(self.table, [[w, _pct(s)] for w, s in zip(words, scores, strict=True)])
        height = self.table.horizontalHeader().height() + sum(
            self.table.rowHeight(r) for r in range(len(words))
        )
        self.table.setFixedHeight(min(height + 4, 330))
        self.bars.setFixedHeight(max(self.table.height(), 140))
        self.bars.set_candidates(words, scores)

    def _pick(self, row: int) -> None:
        if 0 <= row < len(self.words):
            self.picked.emit(self.index, self.words[row])


class ResultView(QWidget):
    """One model's predictions for the text: per-mask views, joint sentences and target words."""

    picked = Signal(int, str)  # mask index, word
    explain = Signal(int, str)
    sentence_picked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        self.message = QLabel(wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.mask_views: list[MaskView] = []
        self.sentences = _table(["Complete sentence", "Joint probability"])
        self.sentences.setToolTip(
            "Joint mode: the most confident mask is filled first, then the model runs again"
        )
        self.sentences.cellClicked.connect(self._sentence_clicked)
        self.sentences_box = self._boxed("Best complete sentences (joint)", self.sentences)
        self.targets = _table(["Target", "Mask", "Pieces", "Probability", "Rank"])
        self.targets_box = self._boxed("Target words", self.targets)
        body = QWidget()
        self.body = QVBoxLayout(body)
        self.body.addWidget(self.sentences_box)
        self.body.addWidget(self.targets_box)
        self.body.addStretch(1)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        layout.addWidget(scroll, 1)
        self.result: FillMaskResult | None = None
        self.show_message("")

    @staticmethod
    def _boxed(title: str, table: QTableWidget) -> QGroupBox:
        box = QGroupBox(title)
        QVBoxLayout(box).addWidget(table)
        table.setMinimumHeight(120)
        return box

    def show_message(self, text: str) -> None:
        """Shown instead of results (no model, no mask...) or above them while predicting."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def clear(self) -> None:
        self.result = None
        for view in self.mask_views:
            view.hide()
        self.sentences_box.hide()
        self.targets_box.hide()

    def show_result(self, result: FillMaskResult) -> None:
        self.result = result
        self.show_message("")
        while len(self.mask_views) < len(result.masks):
            view = MaskView()
            view.picked.connect(self.picked)
            view.explain.connect(self.explain)
            self.body.insertWidget(len(self.mask_views), view)
            self.mask_views.append(view)
        for view in self.mask_views[len(result.masks) :]:
            view.hide()
        many = len(result.masks) > 1
        for view, mask in zip(self.mask_views, result.masks, strict=False):
            pieces = f", a word of {mask.span.pieces} pieces" if mask.span.pieces > 1 else ""
            title = f"Mask {mask.index + 1}{pieces}" if many or pieces else f"Mask{pieces}"
            view.show_candidates(
                mask.index, title, [c.token for c in mask.candidates], [c.score for c in mask.candidates]
            )
            view.show()
        self.sentences_box.setVisible(result.mode == "joint")
        _fill_rows(self.sentences, [[s.text, f"{s.score:.3g}"] for s in result.sentences])
        self.targets_box.setVisible(bool(result.targets))
        _fill_rows(
            self.targets,
            [
                [
                    t.word,
                    str(t.mask + 1),
                    " ".join(t.pieces),
                    t.note if t.score is None else _pct(t.score),
                    "" if t.rank is None else str(t.rank),
                ]
                for t in result.targets
            ],
        )

    def _sentence_clicked(self, row: int, _col: int) -> None:
        if self.result is not None and 0 <= row < len(self.result.sentences):
            self.sentence_picked.emit(self.result.sentences[row].text)


class FillMaskPanel(PanelBase, QWidget):
    """The masked-word playground (see the module docstring)."""

    title = "Masked words"

    predictions_shown = Signal()  # after any result view got new predictions
    nsp_shown = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._latest = [LatestOnly(self), LatestOnly(self)]
        self._nsp_latest = LatestOnly(self)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS, timeout=self.predict_now)
        self._nsp_timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS, timeout=self.nsp_now)
        self._build()
        state.models_changed.connect(self.refresh_models)
        self.refresh_models()

    # ---- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The loaded model whose masked-LM head fills the masks")
        self.compare_combo = QComboBox()
        self.compare_combo.setToolTip("A second loaded masked-LM model to see side by side")
        self.models_button = QPushButton("Load models…")
        self.models_button.setToolTip("Go to the Models tab to load a masked-LM model")
        self.models_button.clicked.connect(self.go_to_models)
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
        self.tabs.addTab(self._build_nsp(), "Next sentence")
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
        row = QHBoxLayout()
        for widget in (
            self.mask_button,
            self.pieces_spin,
            self.top_k_spin,
            self.mode_combo,
            self.whole_words_box,
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

    def _build_nsp(self) -> QWidget:
        page = QWidget()
        self.nsp_combo = QComboBox()
        self.nsp_combo.currentIndexChanged.connect(self.schedule_nsp)
        self.sentence_a = QLineEdit(placeholderText="Sentence A, e.g. The man went to the store.")
        self.sentence_b = QLineEdit(placeholderText="Sentence B, e.g. He bought a gallon of milk.")
        self.sentence_a.textChanged.connect(self.schedule_nsp)
        self.sentence_b.textChanged.connect(self.schedule_nsp)
        self.nsp_bar = QProgressBar(minimum=0, maximum=1000, textVisible=False)
        self.nsp_label = QLabel(wordWrap=True)
        self.nsp_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout(page)
        explain = QLabel(
            "BERT's second pre-training task: does sentence B follow sentence A? Only models with the "
            "next-sentence (NSP) head can say."
        )
        explain.setWordWrap(True)
        form.addRow(explain)
        form.addRow("Model:", self.nsp_combo)
        form.addRow("Sentence A:", self.sentence_a)
        form.addRow("Sentence B:", self.sentence_b)
        form.addRow("P(IsNext):", self.nsp_bar)
        form.addRow("", self.nsp_label)
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
        self.schedule_nsp()

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

    def go_to_models(self) -> None:
        window = self.window()
        tabs, panels = getattr(window, "tabs", None), getattr(window, "panels", {})
        if tabs is not None and "Models" in panels:
            tabs.setCurrentWidget(panels["Models"])

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
            view.title.setText("" if model is None else model.key)
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
            worker = self._latest[i].submit(
                fill_mask, model.model, model.tokenizer, text, name=model.key, **options
            )
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

    # ---- next sentence ------------------------------------------------------------------------------
    def schedule_nsp(self) -> None:
        self._nsp_timer.start()

    def nsp_now(self) -> None:
        self._nsp_latest.cancel()
        model = self._model(self.nsp_combo)
        first, second = self.sentence_a.text(), self.sentence_b.text()
        self.nsp_bar.setValue(0)
        if model is None:
            self.nsp_label.setText(
                "No model is loaded: load bert-base-uncased (it has the NSP head) on the Models tab."
            )
            return
        if not model.has_head(HEAD_NSP):
            having = [m.key for m in self.state.models_with(HEAD_NSP)]
            others = (
                f"Loaded models that have it: {', '.join(having)}."
                if having
                else (f"Load a BERT pre-training checkpoint such as {FULL_SIZE_HINT} on the Models tab.")
            )
            self.nsp_label.setText(f"{model.key} has no next-sentence head. {others}")
            return
        if not first.strip() or not second.strip():
            self.nsp_label.setText("Type sentence A and sentence B.")
            return
        worker = self._nsp_latest.submit(
            next_sentence_probability, model.model, model.tokenizer, first, second, name=model.key
        )
        worker.result.connect(self._show_nsp)
        worker.error.connect(lambda message, _details: self.nsp_label.setText(message))
        worker.start()

    def _show_nsp(self, p: float) -> None:
        self.nsp_bar.setValue(round(p * 1000))
        verdict = "B follows A" if p >= 0.5 else "B does not follow A"
        self.nsp_label.setText(f"P(IsNext) = {p:.3f}: the model thinks {verdict}.")
        self.nsp_shown.emit()

    def shutdown(self) -> None:
        for latest in (*self._latest, self._nsp_latest):
            latest.cancel()
