"""The "Next sentence" tab: P(IsNext) of sentence B after sentence A, for models with BERT's NSP head."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QProgressBar, QWidget

from lmstudio_app.core.fillmask.nsp import next_sentence_probability
from lmstudio_app.core.models.registry import HEAD_NSP, LoadedModel
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.sizing import compact_combo

DEBOUNCE_MS = 200
FULL_SIZE_HINT = "bert-base-uncased"


class NspPage(QWidget):
    """Scores as the user types (debounced, newest request wins); the combo is filled by the panel."""

    shown = Signal()  # a probability was shown

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._latest = LatestOnly(self)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS, timeout=self.score_now)
        self.combo = compact_combo(QComboBox())
        self.combo.currentIndexChanged.connect(self.schedule)
        self.sentence_a = QLineEdit(placeholderText="Sentence A, e.g. The man went to the store.")
        self.sentence_b = QLineEdit(placeholderText="Sentence B, e.g. He bought a gallon of milk.")
        self.sentence_a.textChanged.connect(self.schedule)
        self.sentence_b.textChanged.connect(self.schedule)
        self.bar = QProgressBar(minimum=0, maximum=1000, textVisible=False)
        self.label = QLabel(wordWrap=True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout(self)
        explain = QLabel(
            "BERT's second pre-training task: does sentence B follow sentence A? Only models with the "
            "next-sentence (NSP) head can say."
        )
        explain.setWordWrap(True)
        form.addRow(explain)
        form.addRow("Model:", self.combo)
        form.addRow("Sentence A:", self.sentence_a)
        form.addRow("Sentence B:", self.sentence_b)
        form.addRow("P(IsNext):", self.bar)
        form.addRow("", self.label)

    def model(self) -> LoadedModel | None:
        key = self.combo.currentData()
        try:
            return None if key is None else self.state.registry.get(key)
        except KeyError:
            return None

    def schedule(self) -> None:
        self._timer.start()

    def score_now(self) -> None:
        self._latest.cancel()
        model = self.model()
        first, second = self.sentence_a.text(), self.sentence_b.text()
        self.bar.setValue(0)
        if model is None:
            self.label.setText(
                f"No model is loaded: load {FULL_SIZE_HINT} (it has the NSP head) on the Models tab."
            )
            return
        if not model.has_head(HEAD_NSP):
            having = [m.key for m in self.state.models_with(HEAD_NSP)]
            others = (
                f"Loaded models that have it: {', '.join(having)}."
                if having
                else f"Load a BERT pre-training checkpoint such as {FULL_SIZE_HINT} on the Models tab."
            )
            self.label.setText(f"{model.key} has no next-sentence head. {others}")
            return
        if not first.strip() or not second.strip():
            self.label.setText("Type sentence A and sentence B.")
            return
        worker = self._latest.submit(
            next_sentence_probability, model.model, model.tokenizer, first, second, name=model.key
        )
        worker.result.connect(self._show)
        worker.error.connect(lambda message, _details: self.label.setText(message))
        worker.start()

    def _show(self, p: float) -> None:
        self.bar.setValue(round(p * 1000))
        verdict = "B follows A" if p >= 0.5 else "B does not follow A"
        self.label.setText(
            f"P(IsNext) = {fmt.percent(p)}: the model thinks {verdict} (a softmax over its two answers, "
            "IsNext and NotNext)."
        )
        self.shown.emit()

    def shutdown(self) -> None:
        self._latest.cancel()
