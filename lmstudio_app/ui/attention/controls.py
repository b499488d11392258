"""The attention panel's inputs: model, sentences, token range, display options and the Export menu."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.sizing import compact_combo

PARTS = {  # which attention of an encoder-decoder the native views show
    "cross": "Cross (decoder → encoder)",
    "decoder": "Decoder self (masked)",
    "encoder": "Encoder self",
}
PART_NAMES = {  # the same in the status line
    "cross": "cross-attention (decoder rows, encoder columns)",
    "decoder": "decoder self-attention",
    "encoder": "encoder self-attention",
}
# per model family: the first box's label, the second box's label, its placeholder, whether it is used
INPUTS = {
    "seq2seq": ("Source:", "Target:", "the decoder's text; empty: the model's own greedy output", True),
    "causal": ("Text:", "Sentence B:", "a causal LM reads one text (no sentence pairs)", False),
    "": ("Sentence A:", "Sentence B:", "optional second sentence (B) for sentence-pair models", True),
}
EXPORTS = (
    ("png", "PNG of this view…"),
    ("svg", "SVG of this view…"),
    ("html", "Offline bertviz HTML…"),
    ("json", "JSON of the weights…"),
)


class AttentionControls(QWidget):
    """Widgets only; the panel connects them. `export_menu` actions carry their kind as data."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_combo = compact_combo(QComboBox(), 24)
        self.text_edit = QLineEdit("The cat sat on the mat because it was tired.")
        self.text_edit.setPlaceholderText("a sentence to look at")
        self.pair_edit = QLineEdit(placeholderText="optional second sentence (B) for sentence-pair models")
        self.show_button = QPushButton("Show attention")
        self.show_button.setToolTip("Run the model once with eager attention (Enter)")
        self.text_label, self.pair_label = QLabel("Sentence A:"), QLabel("Sentence B:")
        self.part_combo = compact_combo(QComboBox(), 24)
        for key, text in PARTS.items():
            self.part_combo.addItem(text, key)
        self.part_combo.setToolTip("Which of the encoder-decoder's attentions the native views show")
        self.part_label = QLabel("Attention:")
        inputs = QGridLayout()
        inputs.addWidget(QLabel("Model:"), 0, 0)
        inputs.addWidget(self.model_combo, 0, 1)
        inputs.addWidget(self.text_label, 0, 2)
        inputs.addWidget(self.text_edit, 0, 3)
        inputs.addWidget(self.show_button, 0, 4)
        inputs.addWidget(self.part_label, 1, 0)
        inputs.addWidget(self.part_combo, 1, 1)
        inputs.addWidget(self.pair_label, 1, 2)
        inputs.addWidget(self.pair_edit, 1, 3)
        self.set_family("")

        self.start_spin = QSpinBox()
        self.stop_spin = QSpinBox()
        for spin in (self.start_spin, self.stop_spin):
            spin.setEnabled(False)
        self.start_spin.setToolTip("First token shown (long inputs: look at a range instead of a wall)")
        self.stop_spin.setToolTip("Last token shown")
        self.hide_special = QCheckBox("Hide [CLS]/[SEP]/padding")
        self.hide_special.setToolTip(
            "Leave the special tokens out of the maps, the rollout and the neuron view"
        )
        self.renormalise = QCheckBox("Renormalise rows")
        self.renormalise.setToolTip("After hiding tokens, rescale each row so it sums to 100 % again")
        self.threshold = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=50, value=0)
        self.threshold.setFixedWidth(140)
        self.threshold.setToolTip("Hide weights below this share of the query's attention")
        self.threshold_label = QLabel()
        self.threshold.valueChanged.connect(self._show_threshold)
        self._show_threshold(0)
        self.export_button = QToolButton(text="Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_menu = QMenu(self.export_button)
        for kind, text in EXPORTS:
            self.export_menu.addAction(text).setData(kind)
        self.export_button.setMenu(self.export_menu)
        self.export_button.setEnabled(False)
        # Two rows under the sentences: in one row the options alone were wider than a 1024-px screen.
        options = QGridLayout()
        tokens = QHBoxLayout()
        for widget in (QLabel("Tokens"), self.start_spin, QLabel("to"), self.stop_spin):
            tokens.addWidget(widget)
        tokens.addSpacing(12)
        tokens.addWidget(QLabel("Threshold"))
        tokens.addWidget(self.threshold)
        tokens.addWidget(self.threshold_label)
        tokens.addStretch(1)
        options.addLayout(tokens, 0, 0)
        hiding = QHBoxLayout()
        hiding.addWidget(self.hide_special)
        hiding.addWidget(self.renormalise)
        hiding.addStretch(1)
        options.addLayout(hiding, 1, 0)
        options.addWidget(self.export_button, 0, 1, 2, 1, Qt.AlignmentFlag.AlignBottom)
        self._tips = {w: w.toolTip() for w in (self.hide_special, self.renormalise, self.threshold)}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(inputs)
        layout.addLayout(options)

    def set_family(self, family: str) -> None:
        """Label the inputs for the chosen model: source/target for encoder-decoders, one text for causal LMs;
        the attention chooser shows for encoder-decoders only."""
        first, second, hint, used = INPUTS.get(family, INPUTS[""])
        self.text_label.setText(first)
        self.pair_label.setText(second)
        self.pair_edit.setPlaceholderText(hint)
        self.pair_edit.setEnabled(used)
        self.pair_edit.setToolTip("" if used else hint)
        for widget in (self.part_label, self.part_combo):
            widget.setVisible(family == "seq2seq")

    def threshold_value(self) -> float:
        return self.threshold.value() / 100.0

    def _show_threshold(self, value: int) -> None:
        self.threshold_label.setText(f"≥ {fmt.percent(value / 100.0)}")

    def set_options_enabled(self, enabled: bool, why: str = "") -> None:
        """The display options are off on pages they cannot change; their tooltips then say why."""
        for widget, tip in self._tips.items():
            widget.setEnabled(enabled)
            widget.setToolTip(tip if enabled else why)
