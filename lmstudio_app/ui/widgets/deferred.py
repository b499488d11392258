"""A placeholder that builds its (costly) widget only when it is first shown or asked for.

A pyqtgraph plot costs ~7 ms to construct; a wizard that built the plots of all its pages up front froze the
window ~50 ms as it opened, for pages the user may never reach. Each page now pays for its plots when it
is first shown (or when code first needs the widget, e.g. to give it data), one page at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

W = TypeVar("W", bound=QWidget)


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
        self.widget  # noqa: B018 (built for the first paint)
        super().showEvent(event)
