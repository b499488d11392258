"""Moving between tabs from inside a panel: the "Load models…" button every model-using tab offers."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton, QWidget


def show_tab(widget: QWidget, title: str) -> None:
    """Make the main window that holds `widget` show its tab `title` (nothing when it has none, as in
    a panel shown on its own)."""
    window = widget.window()
    tabs, panels = getattr(window, "tabs", None), getattr(window, "panels", {})
    if tabs is not None and title in panels:
        tabs.setCurrentWidget(panels[title])


def models_button(owner: QWidget) -> QPushButton:
    """A "Load models…" button that takes the user to the Models tab."""
    button = QPushButton("Load models…", owner)
    button.setToolTip("Go to the Models tab")
    button.clicked.connect(lambda: show_tab(owner, "Models"))
    return button
