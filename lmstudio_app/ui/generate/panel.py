"""The Generate tab: a prompt, the model's next-token distribution as you type, and streamed generation.

The distribution follows the prompt after a short pause through `LatestOnly` (a newer request cancels
the older one, so a stale table never shows); picking a token appends it to the prompt, which asks for
the next distribution: generation stepped through by hand. Generate runs the core's decoding on a
worker and streams each token into the output (generate_box.py). Encoder-decoders also take a source.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from lmstudio_app.core.generate.next_token import Candidate, has_chat_template, next_token_distribution
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.generate.generate_box import GenerateBox
from lmstudio_app.ui.generate.model_row import ModelRow
from lmstudio_app.ui.generate.next_token_view import NextTokenView
from lmstudio_app.ui.panel import PanelBase
from lmstudio_app.ui.qthreading import LatestOnly

DEBOUNCE_MS = 250
EXAMPLE = "Once upon a time"
KEYS = {
    "prompt": "generate/prompt",
    "source": "generate/source",
    "k": "generate/top_k_shown",
    "chat": "generate/chat",
}


def appended_piece(tokenizer: Any, prompt: str, token_id: int) -> str:
    """The text that token `token_id` adds after `prompt`, as the tokenizer decodes the two together (a
    word-level or WordPiece vocabulary puts a space between words, byte-level BPE carries its own); the
    core's streamed pieces are decoded the same way. "" for a special token such as end-of-text."""
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    before = tokenizer.decode(ids, skip_special_tokens=True)
    after = tokenizer.decode([*ids, token_id], skip_special_tokens=True)
    piece = (
        after[len(before) :]
        if after.startswith(before)
        else tokenizer.decode([token_id], skip_special_tokens=True)
    )
    return piece.lstrip() if not prompt or prompt[-1].isspace() else piece


class GeneratePanel(PanelBase, QWidget):
    """Prompt and next-token table on the left, generation on the right (see the module docstring)."""

    title = "Generate"

    distribution_shown = Signal()  # the table shows a new distribution or says why it cannot

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._latest = LatestOnly(self)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS, timeout=self.predict_now)
        self.models = ModelRow(state)
        self.source_label = QLabel("Source (the encoder's input):")
        self.source = QPlainTextEdit(placeholderText="The text to translate, summarise or answer")
        self.source.setFixedHeight(64)
        self.prompt_label = QLabel("Prompt:")
        self.prompt = QPlainTextEdit(placeholderText=f"Type the start of a text, e.g. {EXAMPLE}")
        self.chat_box = QCheckBox("Use chat template")
        self.next_tokens = NextTokenView()
        self.generator = GenerateBox()
        self._layout()
        self._restore()
        self.prompt.textChanged.connect(self.schedule)
        self.source.textChanged.connect(self.schedule)
        self.chat_box.toggled.connect(self.schedule)
        self.next_tokens.k_changed.connect(self.schedule)
        self.next_tokens.picked.connect(self.append_token)
        self.generator.run.connect(self.generate)
        self.models.changed.connect(self._model_picked)
        self._model_picked()

    def _layout(self) -> None:
        head = QHBoxLayout()
        head.addWidget(self.prompt_label)
        head.addStretch(1)
        head.addWidget(self.chat_box)
        texts = QWidget()
        column = QVBoxLayout(texts)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.source_label)
        column.addWidget(self.source)
        column.addLayout(head)
        column.addWidget(self.prompt, 1)
        left = QSplitter(Qt.Orientation.Vertical)  # a long prompt can take room from the table
        left.setChildrenCollapsible(False)
        left.addWidget(texts)
        left.addWidget(self.next_tokens)
        left.setStretchFactor(0, 2)
        left.setStretchFactor(1, 5)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(left)
        splitter.addWidget(self.generator)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 5)
        layout = QVBoxLayout(self)
        layout.addWidget(self.models)
        layout.addWidget(splitter, 1)

    # ---- settings -----------------------------------------------------------------------------------
    def _restore(self) -> None:
        store = self.state.settings
        self.prompt.setPlainText(str(store.value(KEYS["prompt"], EXAMPLE)))
        self.source.setPlainText(str(store.value(KEYS["source"], "")))
        self.next_tokens.k_spin.setValue(int(store.value(KEYS["k"], 10)))
        self.chat_box.setChecked(str(store.value(KEYS["chat"], "false")).lower() == "true")
        self.generator.form.restore(store)

    def _save(self) -> None:
        store = self.state.settings
        store.setValue(KEYS["prompt"], self.prompt.toPlainText())
        store.setValue(KEYS["source"], self.source.toPlainText())
        store.setValue(KEYS["k"], self.next_tokens.k_spin.value())
        store.setValue(KEYS["chat"], self.chat_box.isChecked())
        self.generator.form.save(store)

    # ---- the model ----------------------------------------------------------------------------------
    def _model_picked(self) -> None:
        """Source box for encoder-decoders only; the chat box only where the tokenizer has a template."""
        loaded = self.models.model()
        seq2seq = self.models.is_seq2seq()
        self.source_label.setVisible(seq2seq)
        self.source.setVisible(seq2seq)
        self.prompt_label.setText("Decoder prefix (may be empty):" if seq2seq else "Prompt:")
        chat = loaded is not None and has_chat_template(loaded.tokenizer)
        self.chat_box.setEnabled(chat)
        self.chat_box.setToolTip(
            "Wrap the prompt in the tokenizer's chat template as a user message"
            if chat
            else "This model's tokenizer has no chat template"
        )
        self.schedule()

    def _chat(self) -> bool:
        return self.chat_box.isEnabled() and self.chat_box.isChecked()

    def _source(self) -> str | None:
        return self.source.toPlainText() if self.models.is_seq2seq() else None

    # ---- the next-token table -----------------------------------------------------------------------
    def schedule(self) -> None:
        self._timer.start()

    def predict_now(self) -> None:
        """Ask for the distribution after the current prompt; an older request is cancelled."""
        self._latest.cancel()
        loaded = self.models.model()
        if loaded is None:
            self.next_tokens.clear("Load a model that can generate text (see the note above).")
            self.distribution_shown.emit()
            return
        source = self._source()
        if source is not None and not source.strip():
            self.next_tokens.clear("Type a source text: the encoder reads it, the decoder answers it.")
            self.distribution_shown.emit()
            return
        worker = self._latest.submit(
            next_token_distribution,
            loaded.model,
            loaded.tokenizer,
            self.prompt.toPlainText(),
            source=source,
            top_k=self.next_tokens.k_spin.value(),
            chat=self._chat(),
        )
        worker.result.connect(self._show)
        worker.error.connect(lambda message, _details: self._error(message))
        worker.start()

    def _show(self, candidates: list[Candidate]) -> None:
        self.next_tokens.show_candidates(candidates)
        self.distribution_shown.emit()

    def _error(self, message: str) -> None:
        self.next_tokens.clear(message)
        self.distribution_shown.emit()

    def append_token(self, candidate: Candidate) -> None:
        """Append the picked token as it would continue the prompt (an undoable edit)."""
        loaded = self.models.model()
        if loaded is None:
            return
        piece = appended_piece(loaded.tokenizer, self.prompt.toPlainText(), candidate.id)
        if not piece:
            self.next_tokens.clear(
                f"{candidate.token!r} is a special token (such as end of text): nothing to append."
            )
            self.schedule()
            return
        cursor = self.prompt.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(piece)
        self.prompt.setTextCursor(cursor)

    # ---- generating ---------------------------------------------------------------------------------
    def generate(self) -> None:
        loaded = self.models.model()
        if loaded is None:
            self.generator.say("error", "Load a model that can generate text first (see the note above).")
            return
        source = self._source()
        if source is not None and not source.strip():
            self.generator.say("error", "Type a source text for the encoder first.")
            return
        self._save()
        settings = self.generator.form.settings(chat=self._chat())
        self.generator.start(loaded, self.prompt.toPlainText(), source, settings)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt's name)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            # The theme's dark flag is set just after the palette; `self` as context: none if closed by then.
            QTimer.singleShot(0, self, self.generator.restyle)
        super().changeEvent(event)

    def shutdown(self) -> None:
        self._save()
        self._latest.cancel()
        self.generator.stop()
