"""What a fine-tune learns: labels for texts, tags for words, or answers from passages.

The wizard's first page says it with `TaskChoice`; each task is a path of pages (`TaskPages`) built by its
own package (ui/tokens, ui/qa) from the shared pages: Split, Model and settings, Train, Results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QRadioButton, QWidget, QWizardPage

# (key, what the user reads, what it is for)
TASKS = (
    (
        "labels",
        "Labels (sentence classification)",
        "One label per text (sentiment, topic, intent…), or several (tags, genres…), from a table.",
    ),
    (
        "tokens",
        "Word tags (NER, POS)",
        "A tag for every word: named entities (B-PER, I-LOC…) or parts of speech, from CoNLL or JSONL files.",
    ),
    (
        "qa",
        "Question answering",
        "The answer to a question as a span of a passage (extractive, SQuAD-style), from SQuAD JSON, "
        "JSONL or a table.",
    ),
)
TITLES = {
    "labels": "New fine-tune: labels",
    "tokens": "New fine-tune: word tags",
    "qa": "New fine-tune: question answering",
}


class TaskChoice(QWidget):
    """One row of radio buttons; `chosen(key)` when the user picks another task."""

    chosen = Signal(str)

    def __init__(self, task: str = "labels", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buttons: dict[str, QRadioButton] = {}
        group = QButtonGroup(self)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 6)
        row.addWidget(QLabel("<b>The model learns:</b>"))
        for key, label, tip in TASKS:
            button = QRadioButton(label)
            button.setToolTip(tip)
            button.setChecked(key == task)
            button.toggled.connect(lambda on, k=key: self.chosen.emit(k) if on else None)
            group.addButton(button)
            self.buttons[key] = button
            row.addWidget(button)
        row.addStretch(1)

    @property
    def task(self) -> str:
        return next(k for k, b in self.buttons.items() if b.isChecked())

    def set_task(self, task: str) -> None:
        """Show `task` as chosen without saying so (the wizard switches paths itself)."""
        button = self.buttons[task]
        button.blockSignals(True)
        for other in self.buttons.values():
            other.blockSignals(True)
        button.setChecked(True)
        for other in self.buttons.values():
            other.blockSignals(False)


@dataclass
class TaskPages:
    """One task's path: its context and pages, in order (the data page first, Results last)."""

    ctx: Any
    data_page: QWizardPage
    split_page: QWizardPage
    settings_page: QWizardPage
    train_page: QWizardPage
    results_page: QWizardPage

    @property
    def pages(self) -> list[QWizardPage]:
        return [self.data_page, self.split_page, self.settings_page, self.train_page, self.results_page]
