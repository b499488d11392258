"""The Score tab: how probable is a text? Sentence scores, minimal pairs and bias probes.

One model row for all three sub-tabs (the model, its method, a second model to compare sentences
with); every score runs in the core (core/score/) on a Worker, with progress and Cancel.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.panel import PanelBase
from lmstudio_app.ui.score.bias_tab import BiasTab
from lmstudio_app.ui.score.model_bar import ModelBar
from lmstudio_app.ui.score.pairs_tab import PairsTab
from lmstudio_app.ui.score.sentences_tab import SentencesTab


class ScorePanel(PanelBase, QWidget):
    """Sentences, Minimal pairs and Bias sub-tabs under one model row."""

    title = "Score"

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.models = ModelBar(state)
        self.sentences = SentencesTab(state, self.models)
        self.pairs = PairsTab(state, self.models)
        self.bias = BiasTab(state, self.models)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.sentences, "Sentences")
        self.tabs.addTab(self.pairs, "Minimal pairs")
        self.tabs.addTab(self.bias, "Bias")
        # Only sentences are compared across models; elsewhere the picker would promise what is not done.
        self.tabs.currentChanged.connect(
            lambda _i: self.models.set_compare_visible(self.tabs.currentWidget() is self.sentences)
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.models)
        layout.addWidget(self.tabs, 1)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt's name)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            # The theme's dark flag is set just after the palette; `self` as context: none if closed by then.
            QTimer.singleShot(0, self, self.sentences.restyle)
        super().changeEvent(event)

    def shutdown(self) -> None:
        self.sentences.shutdown()
        self.pairs.shutdown()
        self.bias.shutdown()
