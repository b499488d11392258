"""The Explain panel's first tab: one text, one model, IG / gradient x input / rollout side by side.

What is explained follows the model: a classifier's class, a masked-LM's candidate, a decoder's next token,
a word tagger's tag of one word (task_inputs.WordPicker), or a QA model's answer (task_inputs.AnswerInputs).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.explain.attribution import ExplainOptions, Explanation
from lmstudio_app.core.explain.inputs import labels_of
from lmstudio_app.core.explain.methods import METHODS
from lmstudio_app.core.models.registry import (
    HEAD_CAUSAL_LM,
    HEAD_CLS,
    HEAD_MLM,
    HEAD_QA,
    HEAD_SEQ2SEQ_LM,
    HEAD_TOKENS,
    LoadedModel,
)
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.explain.attribution_view import AttributionView
from lmstudio_app.ui.explain.jobs import explain_all, explain_answer_all, explain_tag_all
from lmstudio_app.ui.explain.task_inputs import AnswerInputs, TagStrip, WordPicker
from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.sizing import compact_combo

PREDICTED = "predicted class"
ERROR_STYLE = "color: #c0392b;"
EXPLAINED_HEADS = (HEAD_CLS, HEAD_MLM, HEAD_CAUSAL_LM, HEAD_SEQ2SEQ_LM, HEAD_TOKENS, HEAD_QA)
NEXT_TOKEN_HEADS = (HEAD_CAUSAL_LM, HEAD_SEQ2SEQ_LM)
NO_MODEL = (
    "No classifier, masked-LM, causal-LM, encoder-decoder, word tagger or QA model is loaded: load one on the "
    "Models tab."
)


def _mode(model: LoadedModel | None) -> str:
    """What the model's output to explain is: "class", "candidate" (at the mask), "next" token, a word's
    "tag", an answer ("qa"), or ""."""
    if model is None:
        return ""
    if model.has_head(HEAD_CLS):
        return "class"
    if model.has_head(HEAD_TOKENS):
        return "tag"
    if model.has_head(HEAD_QA):
        return "qa"
    if any(model.has_head(h) for h in NEXT_TOKEN_HEADS):
        return "next"
    return "candidate" if model.has_head(HEAD_MLM) else ""


class AttributionTab(QWidget):
    """Pick a model and a target (class, candidate word at the mask, or next token), type, Ctrl+Enter, read."""

    explained = Signal()  # every method's result (or its reason) is on screen
    failed = Signal(str)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.latest = LatestOnly(self)
        self.results: dict[str, Explanation | str] = {}
        self.model_combo = compact_combo(QComboBox())
        self.model_combo.setToolTip(
            "A loaded classifier, masked-LM, causal-LM, encoder-decoder, word tagger or question-answering model"
        )
        self.model_combo.currentIndexChanged.connect(self._model_changed)
        self.editor = QPlainTextEdit(placeholderText="Type a text to explain (Ctrl+Enter runs it)")
        self.editor.setFixedHeight(64)
        self.word_picker = WordPicker()
        self.editor.textChanged.connect(lambda: self.word_picker.set_text(self.editor.toPlainText()))
        self.answer_inputs = AnswerInputs()
        self.answer_inputs.question_edit.returnPressed.connect(self.run)
        self.tag_strip = TagStrip()
        self.tag_strip.word_clicked.connect(self._explain_word)
        self.class_combo = compact_combo(QComboBox(), 16)
        self.class_combo.setToolTip("The class whose score is explained: the predicted one or any other")
        self.candidate_edit = QLineEdit(placeholderText="candidate word at the mask")
        self.versus_edit = QLineEdit(placeholderText="rather than (optional)")
        self.versus_edit.setToolTip(
            "Explain why the candidate rather than this word or token (difference of log-probabilities)"
        )
        self.steps_spin = QSpinBox(minimum=2, maximum=1024, value=32, prefix="IG steps: ")
        self.steps_spin.setToolTip("More steps: a smaller convergence delta, a slower run")
        self.baseline_combo = QComboBox()
        self.baseline_combo.addItem("baseline [PAD]", "pad")
        self.baseline_combo.addItem("baseline [MASK]", "mask")
        self.baseline_combo.setToolTip(
            "IG starts from the text with every word replaced by this token ([CLS]/[SEP] kept)"
        )
        self.batch_spin = QSpinBox(minimum=1, maximum=1024, value=32, prefix="batch: ")
        self.batch_spin.setToolTip("IG steps computed at once; lower it to use less memory")
        self.unit_combo = QComboBox()
        self.unit_combo.addItem("whole words", "words")
        self.unit_combo.addItem("tokens", "tokens")
        self.unit_combo.setToolTip("Words sum their pieces' scores; tokens show every piece and [CLS]/[SEP]")
        self.unit_combo.currentIndexChanged.connect(self.redraw)
        self.run_button = QPushButton("Explain (Ctrl+Enter)")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar(maximum=1000, textVisible=False)
        self.progress.setMaximumWidth(160)  # may shrink: a fixed width widened the window past small screens
        self.summary = QLabel(wordWrap=True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.views = {m: AttributionView(m) for m in METHODS}
        self._layout()
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.run)
        state.models_changed.connect(self.refresh_models)
        self.refresh_models()

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Model:"))
        top.addWidget(self.model_combo, 1)
        self.class_label = QLabel("Explain:")
        top.addWidget(self.class_label)
        top.addWidget(self.class_combo)
        self.candidate_label = QLabel("Candidate:")
        for w in (self.candidate_label, self.candidate_edit, self.versus_edit):
            top.addWidget(w)
        top.addWidget(self.word_picker)
        top.addWidget(self.answer_inputs, 2)
        options = QHBoxLayout()
        for w in (self.steps_spin, self.baseline_combo, self.batch_spin, self.unit_combo, self.run_button):
            options.addWidget(w)
        options.addWidget(self.cancel_button)
        options.addWidget(self.progress)
        options.addStretch(1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for view in self.views.values():
            splitter.addWidget(view)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.editor)
        layout.addLayout(options)
        layout.addWidget(self.summary)
        layout.addWidget(self.tag_strip)
        layout.addWidget(splitter, 1)

    # ---- models ------------------------------------------------------------------------------------
    def refresh_models(self) -> None:
        current = self.model_combo.currentData()
        models = [m for m in self.state.registry.models() if any(m.has_head(h) for h in EXPLAINED_HEADS)]
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for m in models:
            self.model_combo.addItem(m.key, m.key)
        index = self.model_combo.findData(current)
        self.model_combo.setCurrentIndex(index if index >= 0 else (0 if models else -1))
        self.model_combo.blockSignals(False)
        self._model_changed()

    def model(self) -> LoadedModel | None:
        key = self.model_combo.currentData()
        try:
            return self.state.registry.get(key) if key is not None else None
        except KeyError:
            return None

    def select_model(self, key: str) -> None:
        self.refresh_models()
        index = self.model_combo.findData(key)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)

    def _model_changed(self) -> None:
        """A classifier gets the class picker, a masked-LM the candidate boxes, a decoder the token boxes,
        a tagger the word and tag pickers, a QA model the question box."""
        model = self.model()
        mode = _mode(model)
        classifier, masked = mode == "class", mode == "candidate"
        for w in (self.class_label, self.class_combo):
            w.setVisible(classifier)
        self.word_picker.setVisible(mode == "tag")
        self.answer_inputs.setVisible(mode == "qa")
        self.tag_strip.show_tags(None)
        self.word_picker.set_tags(labels_of(model.model) if mode == "tag" else [])
        for w in (self.candidate_label, self.candidate_edit, self.versus_edit):
            w.setVisible(masked or mode == "next")
        self.candidate_label.setText("Next token:" if mode == "next" else "Candidate:")
        self.candidate_edit.setPlaceholderText(
            "predicted" if mode == "next" else "candidate word at the mask"
        )
        self.candidate_edit.setToolTip(
            "The next token to explain; empty: the one the model predicts" if mode == "next" else ""
        )
        self.versus_edit.setPlaceholderText("rather than" if mode == "next" else "rather than (optional)")
        source = model is not None and model.has_head(HEAD_SEQ2SEQ_LM)
        self.editor.setPlaceholderText(
            "Type the source text; its first output token is explained (Ctrl+Enter runs it)"
            if source
            else {
                "tag": "Type a sentence, then pick the word whose tag is explained (Ctrl+Enter runs it)",
                "qa": "Paste the passage the answer is taken from; the question goes above (Ctrl+Enter runs it)",
            }.get(mode, f"Type a {'prompt' if mode == 'next' else 'text'} to explain (Ctrl+Enter runs it)")
        )
        self.class_combo.clear()
        self.class_combo.addItem(PREDICTED, None)
        if classifier:
            for label in labels_of(model.model):
                self.class_combo.addItem(label, label)
        if model is None:
            self.summary.setText(
                "Load a classifier (e.g. a fine-tuned run: Load into model manager), a masked-LM, a causal LM, "
                "an encoder-decoder, a word tagger or a question-answering model on the Models tab to explain "
                "its output."
            )
        elif mode == "tag":
            self.summary.setText(
                "Word tagger: type a sentence and pick a word; its tag (the predicted one or the one you pick) "
                "is explained by every word of the sentence."
            )
        elif mode == "qa":
            self.summary.setText(
                "Question answering: type a question and a passage; the start (or end) of the answer the model "
                "picks is explained by the question's words and the passage's."
            )
        elif mode == "next":
            self.summary.setText(
                "Type a prompt (an encoder-decoder: its source): the token the model predicts next is explained, "
                "or the token you name; optionally a second token to ask why the first rather than the second."
            )
        elif masked:
            self.summary.setText(
                f"Masked-LM: type a text with one {html.escape(model.tokenizer.mask_token or '[MASK]')} and a "
                "candidate word; optionally a second word to ask why the first rather than the second."
            )
        else:
            self.summary.setText("")

    def set_label(self, label: str | None) -> None:
        index = self.class_combo.findData(label) if label else 0
        self.class_combo.setCurrentIndex(max(0, index))

    # ---- running -----------------------------------------------------------------------------------
    def options(self) -> ExplainOptions:
        mode = _mode(self.model())
        candidate = self.candidate_edit.text().strip()
        return ExplainOptions(
            steps=self.steps_spin.value(),
            baseline=self.baseline_combo.currentData(),
            internal_batch_size=self.batch_spin.value(),
            label={"class": self.class_combo.currentData(), "tag": self.word_picker.tag()}.get(mode),
            candidate={"candidate": candidate, "next": candidate or None}.get(mode),
            versus=(self.versus_edit.text().strip() or None) if mode in ("candidate", "next") else None,
        )

    def run(self) -> None:
        model, text = self.model(), self.editor.toPlainText()
        if model is None:
            self._fail(NO_MODEL)
            return
        mode = _mode(model)
        if mode == "tag":
            word = self.word_picker.word()
            if word is None:
                self._fail("Type a sentence to tag: it has no words.")
                return
            worker = self.latest.submit(explain_tag_all, model, text, word, self.options())
        elif mode == "qa":
            inputs = self.answer_inputs
            worker = self.latest.submit(
                explain_answer_all, model, inputs.question(), text, self.options(), inputs.end()
            )
        else:
            worker = self.latest.submit(explain_all, model, text, self.options())
        worker.progress.connect(lambda f, _m: self.progress.setValue(round(max(0.0, f) * 1000)))
        worker.progress.connect(lambda _f, m: self.summary.setText(html.escape(m)) if m else None)
        worker.result.connect(self._show)
        worker.error.connect(lambda message, _details: self._fail(message))
        worker.cancelled.connect(lambda: self.summary.setText("Cancelled."))
        worker.finished.connect(lambda: self._busy(False))
        self._busy(True)
        worker.start()

    def _explain_word(self, index: int) -> None:
        """A click on a word of the tagged sentence: explain that word's tag."""
        self.word_picker.select(index)
        self.run()

    def cancel(self) -> None:
        self.latest.cancel()

    def _busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        self.progress.setValue(0 if busy else self.progress.value())

    def _fail(self, message: str) -> None:
        self.summary.setText(f"<span style='{ERROR_STYLE}'>{html.escape(message)}</span>")
        for view in self.views.values():
            view.show_message("")
        self.failed.emit(message)

    def _show(self, results: dict[str, Explanation | str]) -> None:
        self.results = results
        self.progress.setValue(1000)
        first = next((r for r in results.values() if isinstance(r, Explanation)), None)
        if first is not None:
            self.summary.setText(summary_html(first))
        self.tag_strip.show_tags(first if first is not None and first.kind == "tag" else None)
        self.redraw()
        self.explained.emit()

    def redraw(self) -> None:
        unit = self.unit_combo.currentData()
        self.tag_strip.redraw()
        for method, view in self.views.items():
            result = self.results.get(method)
            if isinstance(result, Explanation):
                view.show_result(result, unit)
            elif isinstance(result, str):
                view.show_message(result)
            else:
                view.redraw()


def summary_html(result: Explanation) -> str:
    """The line above the views: what the model predicted, what is explained, the alternatives."""
    ranking = " · ".join(f"{html.escape(name)} {fmt.percent(p)}" for name, p in result.ranking)
    note = " (input truncated)" if result.truncated else ""
    predicted = f"<b>{html.escape(result.predicted_label)}</b> ({fmt.percent(result.predicted_score)})"
    if result.kind == "tag":
        word = result.details["word"]
        return (
            f"Word {word['number']} <b>{html.escape(word['text'])}</b> is tagged {predicted}. Explaining the "
            f"logit of <b>{html.escape(result.target)}</b> there. {ranking}{note}"
        )
    if result.kind in ("answer-start", "answer-end"):
        which = "start" if result.kind == "answer-start" else "end"
        token = result.details["answer"][f"{which}_token"]
        return (
            f"Predicted answer: {predicted}. Explaining its {which} logit (at {html.escape(token)}). "
            f"Best spans: {ranking}{note}"
        )
    what = {"class": "class", "candidate": "word at the mask"}.get(result.kind, "next token")
    return f"Predicted {what}: {predicted}. Explaining <b>{html.escape(result.target)}</b>. {ranking}{note}"
