"""Every "Load models…" button takes the user to the Models tab (one helper, ui/navigation.py)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from lmstudio_app.ui.main_window import MainWindow


@pytest.mark.parametrize(
    ("tab", "button"),
    [
        ("Masked words", lambda panel: panel.models_button),
        ("Score", lambda panel: panel.models.models_button),
        ("Generate", lambda panel: panel.models.models_button),
    ],
)
def test_load_models_buttons_open_the_models_tab(qtbot, tab, button) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    panel = window.panels[tab]
    window.tabs.setCurrentWidget(panel)
    qtbot.mouseClick(button(panel), Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.panels["Models"]
