"""How to generate: the decoding strategy and only the settings that strategy uses, remembered.

Each setting is one spin box whose prefix names it, laid out like words (FlowLayout), so a narrow window
wraps them onto a second line and a hidden setting leaves no gap. The form turns into the core's
`GenerateSettings`, which validates itself; nothing here checks what the core checks.
"""

from __future__ import annotations

from dataclasses import fields

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QDoubleSpinBox, QSpinBox, QWidget

from lmstudio_app.core.generate.settings import GenerateSettings
from lmstudio_app.ui.widgets.flow_layout import FlowLayout

KEY = "generate/"
STRATEGIES = {"greedy": "Greedy", "sample": "Sampling", "beam": "Beam search"}
STRATEGY_HELP = {
    "greedy": "Greedy: always the most probable next token (deterministic)",
    "sample": "Sampling: draw each token from the distribution, shaped by temperature, top-k and top-p",
    "beam": "Beam search: keep the best few partial texts and return the most probable whole one",
}
COMMON = ("max_new_tokens", "min_new_tokens", "repetition_penalty")
# Which settings each strategy uses: the others are hidden, never silently ignored.
APPLIES = {
    "greedy": COMMON,
    "sample": (*COMMON, "temperature", "top_k", "top_p", "seed"),
    "beam": (*COMMON, "num_beams"),
}
NO_SEED = -1  # the seed box's "random" value
TYPES = {"strategy": str, "temperature": float, "top_p": float, "repetition_penalty": float}  # others: int


def _spin(prefix: str, low: int, high: int, tip: str) -> QSpinBox:
    spin = QSpinBox(minimum=low, maximum=high, prefix=prefix)
    spin.setToolTip(tip)
    return spin


def _double(prefix: str, low: float, high: float, step: float, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(minimum=low, maximum=high, singleStep=step, decimals=2, prefix=prefix)
    spin.setToolTip(tip)
    return spin


class StrategyForm(QWidget):
    """Strategy picker plus its settings; `changed` on any edit, `settings(chat)` for a run."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strategy = QComboBox()
        for key, label in STRATEGIES.items():
            self.strategy.addItem(label, key)
            self.strategy.setItemData(
                self.strategy.count() - 1, STRATEGY_HELP[key], Qt.ItemDataRole.ToolTipRole
            )
        self.boxes: dict[str, QAbstractSpinBox] = {
            "max_new_tokens": _spin("max new tokens: ", 1, 4096, "Stop after this many new tokens at most"),
            "min_new_tokens": _spin(
                "min new tokens: ", 0, 4096, "The end-of-text token is not allowed before this many"
            ),
            "temperature": _double(
                "temperature: ", 0.01, 10.0, 0.1, "Below 1 sharpens the distribution, above 1 flattens it"
            ),
            "top_k": _spin("top-k: ", 0, 10000, "Sample only among the k most probable tokens (0: all)"),
            "top_p": _double(
                "top-p: ", 0.01, 1.0, 0.05, "Sample only among the most probable tokens whose total is p"
            ),
            "seed": _spin("seed: ", NO_SEED, 2**31 - 1, "The same seed gives the same sample"),
            "num_beams": _spin("beams: ", 2, 32, "How many partial texts beam search keeps"),
            "repetition_penalty": _double(
                "repetition penalty: ", 0.5, 5.0, 0.1, "Above 1 makes tokens already in the text less likely"
            ),
        }
        seed = self.boxes["seed"]
        assert isinstance(seed, QSpinBox)
        seed.setSpecialValueText("seed: random")
        flow = FlowLayout(self)
        flow.setContentsMargins(0, 0, 0, 0)
        flow.addWidget(self.strategy)
        for box in self.boxes.values():
            flow.addWidget(box)
            box.valueChanged.connect(self.changed)  # type: ignore[attr-defined]
        self.strategy.currentIndexChanged.connect(self._strategy_picked)
        self.set_values(GenerateSettings())

    def current_strategy(self) -> str:
        return str(self.strategy.currentData())

    def _strategy_picked(self) -> None:
        used = APPLIES[self.current_strategy()]
        for name, box in self.boxes.items():
            box.setVisible(name in used)
        self.strategy.setToolTip(STRATEGY_HELP[self.current_strategy()])
        self.updateGeometry()
        self.changed.emit()

    def set_values(self, settings: GenerateSettings) -> None:
        """Show `settings` (a missing seed as "random")."""
        index = self.strategy.findData(settings.strategy)
        self.strategy.setCurrentIndex(max(index, 0))
        for name, box in self.boxes.items():
            value = getattr(settings, name)
            box.setValue(NO_SEED if value is None else value)  # type: ignore[attr-defined]
        self._strategy_picked()

    def settings(self, chat: bool = False) -> GenerateSettings:
        """What the form says, as the core's settings; hidden settings keep their values but do not apply."""
        values = {name: box.value() for name, box in self.boxes.items()}  # type: ignore[attr-defined]
        values["seed"] = None if values["seed"] == NO_SEED else values["seed"]
        return GenerateSettings(strategy=self.current_strategy(), chat=chat, **values)

    def save(self, store: QSettings) -> None:
        for name, value in vars(self.settings()).items():
            if name != "chat":
                store.setValue(KEY + name, NO_SEED if value is None else value)

    def restore(self, store: QSettings) -> None:
        """The remembered settings; a missing or unreadable one keeps its default."""
        values = {}
        for field in fields(GenerateSettings):
            if field.name == "chat" or not store.contains(KEY + field.name):
                continue
            try:
                values[field.name] = TYPES.get(field.name, int)(store.value(KEY + field.name))
            except (TypeError, ValueError):
                continue
        if values.get("seed") == NO_SEED:
            values["seed"] = None
        if values.get("strategy") not in STRATEGIES:
            values.pop("strategy", None)
        self.set_values(GenerateSettings(**values))
