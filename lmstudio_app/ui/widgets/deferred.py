"""A placeholder that builds its (costly) widget only when it is first shown or asked for.

A pyqtgraph plot costs ~7-25 ms to construct; a wizard that built the plots of all its pages up front froze
the window ~50 ms as it opened, for pages the user may never reach. Each page now pays for its plots when it
is first shown (or when code first needs the widget, e.g. to give it data), one page at a time, and then
on the event loop's next turn: the page paints first, so a click's response and the plot's construction
are two short stalls instead of one long one (the Settings page: 60 ms in one piece before).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtCore import QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

W = TypeVar("W", bound=QWidget)
# After the page's paint, with room for input and other timers in between (a 0 ms timer ran straight after
# the paint, in the same stall).
BUILD_DELAY_MS = 25


class Deferred(QWidget, Generic[W]):
    """Holds the place of `factory()`'s widget in a layout; `widget` builds it on first use."""

    def __init__(self, factory: Callable[[], W], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._widget: W | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> bool:
        return self._widget is not None

    @property
    def widget(self) -> W:
        if self._widget is None:
            self._widget = self._factory()
            self._layout.addWidget(self._widget)
        return self._widget

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        if self._widget is None:
            QTimer.singleShot(BUILD_DELAY_MS, self, self._build)  # `self` as context: none if gone by then
        super().showEvent(event)

    def _build(self) -> None:
        self.widget  # noqa: B018 (built now that the page has painted)
