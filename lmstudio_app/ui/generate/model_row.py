"""The Generate tab's model row: the loaded models that can generate, and what to load when none can.

A model can generate when its family (core/models/family.py) is causal or encoder-decoder; the panel
asks `is_seq2seq()` to show the source box, never a model name.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from lmstudio_app.core.models.family import CAUSAL, SEQ2SEQ
from lmstudio_app.core.models.registry import LoadedModel
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.navigation import models_button
from lmstudio_app.ui.sizing import compact_combo

HOW_TO_LOAD = (
    "load a causal language model (the embedded minilm-clm, or a GPT-2 folder or hub id such as gpt2) "
    "or an encoder-decoder (such as t5-small) on the Models tab"
)


def can_generate(loaded: LoadedModel) -> bool:
    return loaded.family in (CAUSAL, SEQ2SEQ)


class ModelRow(QWidget):
    """Model picker, "Load models…" and a note; `changed` when the chosen model (or the list) changes."""

    changed = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.combo = compact_combo(QComboBox())
        self.combo.setToolTip("A loaded causal or encoder-decoder language model")
        self.models_button = models_button(self)
        self.note = QLabel(wordWrap=True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Model:"))
        row.addWidget(self.combo, 1)
        row.addWidget(self.models_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self.combo.currentIndexChanged.connect(self.changed)
        state.models_changed.connect(self.refresh)
        self.refresh()

    def model(self) -> LoadedModel | None:
        key = self.combo.currentData()
        if key is None:
            return None
        try:
            return self.state.registry.get(key)
        except KeyError:  # unloaded a moment ago; the refresh that follows drops it
            return None

    def is_seq2seq(self) -> bool:
        loaded = self.model()
        return loaded is not None and loaded.family == SEQ2SEQ

    def refresh(self) -> None:
        """Fill the picker from the registry, keeping the user's choice while it is loaded."""
        models = self.state.registry.models()
        usable = [m for m in models if can_generate(m)]
        current = self.combo.currentData()
        self.combo.blockSignals(True)
        self.combo.clear()
        for m in usable:
            self.combo.addItem(m.key, m.key)
        index = self.combo.findData(current)
        self.combo.setCurrentIndex(index if index >= 0 else (0 if usable else -1))
        self.combo.blockSignals(False)
        if not models:
            self.note.setText(f"No model is loaded: {HOW_TO_LOAD}.")
        elif not usable:
            names = ", ".join(m.key for m in models)
            self.note.setText(f"None of the loaded models ({names}) can generate text: {HOW_TO_LOAD}.")
        else:
            self.note.setText("")
        self.note.setVisible(bool(self.note.text()))
        self.changed.emit()
