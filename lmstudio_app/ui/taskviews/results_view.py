"""The frame of the word-tags and question-answering results views: the run's summary on top, the view's
tabs, and what to do with the model below (its command line given by the view)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from lmstudio_app.ui.taskviews.actions import ModelActions


class TaskResultsView(QWidget):
    """`summary`, `tabs` and `actions` for a subclass to fill; `command_text` is its training command."""

    def __init__(self, app: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.result: Any = None
        self.summary = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.actions = ModelActions()
        self.actions.command = self.command_text
        self.tabs = QTabWidget()

    def _lay_out(self) -> None:
        """The summary, the tabs (they take the height) and the actions, edge to edge."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.actions)

    def command_text(self) -> str:
        raise NotImplementedError
