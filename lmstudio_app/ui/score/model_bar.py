"""The Score tab's model row: which loaded model scores, by which method, and a second model to compare.

Only models with a language-model head are offered (the core's `default_method` decides, so a family
the core learns to score appears here without a change). The method list follows the model's family,
and the last method chosen is remembered while the model allows it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.registry import LoadedModel
from lmstudio_app.core.models.sources import DEFAULT_CAUSAL_LM, DEFAULT_MASKED_LM
from lmstudio_app.core.score.sentences import METHODS, default_method
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.navigation import models_button
from lmstudio_app.ui.sizing import compact_combo

METHOD_KEY = "score/method"
# The methods a family's default allows.
FAMILY_METHODS = {"pll": ("pll", "pll-word"), "chain": ("chain",), "conditional": ("conditional",)}
METHOD_HELP = {
    "pll": "pseudo-log-likelihood: mask each token in turn (Salazar et al. 2020)",
    "pll-word": "PLL that also masks the later pieces of the same word (fairer to long words)",
    "chain": "chain rule: the sum of log P(token | the tokens before it)",
    "conditional": "encoder-decoders: log P(sentence | source), the chain rule in the decoder given the source",
}
HOW_TO_LOAD = (
    f"load a masked-LM model (the embedded {DEFAULT_MASKED_LM}, or bert-base-uncased), a causal-LM model (the "
    f"embedded {DEFAULT_CAUSAL_LM}) or an encoder-decoder on the Models tab"
)


def allowed_methods(loaded: LoadedModel) -> tuple[str, ...]:
    """The methods that can score with this model; empty for a model without a language-model head."""
    try:
        default = default_method(loaded.model)
    except UserError:
        return ()
    return FAMILY_METHODS.get(default, (default,))


class ModelBar(QWidget):
    """Model, method and "Compare with" pickers plus a note that says what to load when nothing fits."""

    changed = Signal()  # the model, the method or the model to compare with is another now

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.model_combo = compact_combo(QComboBox())  # model keys can be long
        self.model_combo.setToolTip("A loaded model with a masked-LM, causal-LM or encoder-decoder head")
        self.method_combo = QComboBox()
        self.compare_combo = compact_combo(QComboBox())
        self.compare_combo.setToolTip(
            "A second loaded model scored on the same sentences, side by side; it uses the same method "
            "when its family allows it, else its own family's"
        )
        self.compare_label = QLabel("Compare with:")
        self.models_button = models_button(self)
        self.note = QLabel(wordWrap=True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Model:"))
        row.addWidget(self.model_combo, 3)
        row.addWidget(QLabel("Method:"))
        row.addWidget(self.method_combo, 1)
        row.addWidget(self.compare_label)
        row.addWidget(self.compare_combo, 3)
        row.addWidget(self.models_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self.model_combo.currentIndexChanged.connect(self._model_picked)
        self.method_combo.currentIndexChanged.connect(self._method_picked)
        state.models_changed.connect(self.refresh)
        self.refresh()

    # ---- what the sub-tabs ask -----------------------------------------------------------------------
    def model(self) -> LoadedModel | None:
        return self._get(self.model_combo.currentData())

    def compare(self) -> LoadedModel | None:
        return self._get(self.compare_combo.currentData())

    def method(self) -> str | None:
        return self.method_combo.currentData()

    def method_for(self, loaded: LoadedModel) -> str:
        """The chosen method if this model's family allows it, else the family's own default."""
        allowed = allowed_methods(loaded)
        return self.method() if self.method() in allowed else allowed[0]

    def set_compare_visible(self, visible: bool) -> None:
        self.compare_label.setVisible(visible)
        self.compare_combo.setVisible(visible)

    # ---- filling -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Fill the pickers from the registry, keeping the user's choices while those models are loaded."""
        models = self.state.registry.models()
        scorable = [m for m in models if allowed_methods(m)]
        self._fill(self.model_combo, scorable, None)
        self._fill(self.compare_combo, scorable, "(none)")
        if not models:
            self.note.setText(f"No model is loaded: {HOW_TO_LOAD}.")
        elif not scorable:
            names = ", ".join(m.key for m in models)
            self.note.setText(
                f"None of the loaded models ({names}) has a language-model head: {HOW_TO_LOAD}."
            )
        else:
            self.note.setText("")
        self.note.setVisible(bool(self.note.text()))
        self._model_picked()

    @staticmethod
    def _fill(combo: QComboBox, models: list[LoadedModel], none: str | None) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        if none is not None:
            combo.addItem(none, None)
        for m in models:
            combo.addItem(m.key, m.key)
        index = combo.findData(current)
        combo.setCurrentIndex(index if index >= 0 else (0 if combo.count() else -1))
        combo.blockSignals(False)

    def _model_picked(self) -> None:
        """The method list of the model's family; the remembered method when it is one of them."""
        loaded = self.model()
        allowed = allowed_methods(loaded) if loaded is not None else ()
        wanted = self.method() or str(self.state.settings.value(METHOD_KEY, ""))
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        for method in allowed:
            self.method_combo.addItem(method, method)
            last = self.method_combo.count() - 1
            self.method_combo.setItemData(last, METHOD_HELP.get(method, method), Qt.ItemDataRole.ToolTipRole)
        index = self.method_combo.findData(wanted)
        self.method_combo.setCurrentIndex(index if index >= 0 else (0 if allowed else -1))
        self.method_combo.blockSignals(False)
        self.method_combo.setToolTip(METHOD_HELP.get(self.method() or "", "Load a model to pick a method"))
        self.changed.emit()

    def _method_picked(self) -> None:
        if self.method() in METHODS:
            self.state.settings.setValue(METHOD_KEY, self.method())
        self.method_combo.setToolTip(METHOD_HELP.get(self.method() or "", ""))
        self.changed.emit()

    def _get(self, key: str | None) -> LoadedModel | None:
        if key is None:
            return None
        try:
            return self.state.registry.get(key)
        except KeyError:
            return None
