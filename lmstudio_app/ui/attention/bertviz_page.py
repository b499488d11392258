"""The bertviz page: bertviz's head and model views, offline, built on a worker (newest page wins)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from lmstudio_app.core.attention.bertviz import (
    assets_help,
    bertviz_html,
    missing_assets,
    seq2seq_bertviz_html,
)
from lmstudio_app.core.attention.export import BERTVIZ_MAX_TOKENS
from lmstudio_app.core.attention.extract import AttentionResult
from lmstudio_app.core.attention.seq2seq import Seq2SeqAttention
from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.widgets.web_view import OfflineWebView

BERTVIZ_CHOICES = {
    "Head view + model view": ("head", "model"),
    "Head view": ("head",),
    "Model view": ("model",),
}
BERTVIZ_SLOW_TOKENS = 60  # bertviz draws a line per token pair and head: slow above this


class BertvizPage(QWidget):
    """The browser starts only when the page is first drawn; without the JavaScript it says how to get it."""

    choice_changed = Signal()
    loaded = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QVBoxLayout(self)
        row = QHBoxLayout()
        self.choice = QComboBox()
        self.choice.addItems(list(BERTVIZ_CHOICES))
        self.choice.currentIndexChanged.connect(lambda _i: self.choice_changed.emit())
        row.addWidget(QLabel("Show:"))
        row.addWidget(self.choice)
        row.addStretch(1)
        box.addLayout(row)
        self.note = QLabel(wordWrap=True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.note)
        self.web = OfflineWebView()
        self.web.load_finished.connect(self.loaded)
        self.web.hide()  # shown once there is a page to show (and the JavaScript to draw it)
        box.addWidget(self.web, 1)
        self._latest = LatestOnly(self)

    def draw(self, view: AttentionResult | Seq2SeqAttention) -> None:
        """bertviz's views of the token range shown, or an encoder-decoder's encoder-decoder views (whole)."""
        if missing_assets():
            self.note.setText(assets_help() + " The native tabs work without it.")
            self.web.hide()
            return
        seq2seq = isinstance(view, Seq2SeqAttention)
        n = max(view.encoder.n_tokens, view.decoder.n_tokens) if seq2seq else view.n_tokens
        if n > BERTVIZ_MAX_TOKENS:
            self.note.setText(
                f"{n} tokens is too many for bertviz (it draws a line per token pair and head): choose at most "
                f"{BERTVIZ_MAX_TOKENS} with the token range above. The native tabs show every token."
            )
            self.web.hide()
            return
        self.web.show()
        self.note.setText(
            f"{n} tokens: bertviz gets slow above {BERTVIZ_SLOW_TOKENS}; narrow the token range above."
            if n > BERTVIZ_SLOW_TOKENS
            else "bertviz's head and model views, rendered offline (no network)."
            + (" Pick Encoder, Decoder or Cross under “Attention”." if seq2seq else "")
        )
        views = BERTVIZ_CHOICES[self.choice.currentText()]
        page = seq2seq_bertviz_html if seq2seq else bertviz_html
        worker = self._latest.submit(lambda view, views, state: page(view, views), view, views)
        worker.result.connect(self.web.set_html)
        worker.error.connect(lambda message, _tb: self.note.setText(message))
        worker.start()

    def shutdown(self) -> None:
        self._latest.cancel()
        self.web.shutdown()
