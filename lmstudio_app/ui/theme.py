"""Light and dark themes: follow the system by default, switchable, remembered.

Qt's own color-scheme switch only works where the platform theme supports it (not on plain X11 or
offscreen), so dark is an explicit Fusion palette and light is Fusion's standard one.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")
_DARK = {
    QPalette.ColorRole.Window: "#2b2d30",
    QPalette.ColorRole.WindowText: "#e8eaed",
    QPalette.ColorRole.Base: "#202124",
    QPalette.ColorRole.AlternateBase: "#2f3134",
    QPalette.ColorRole.ToolTipBase: "#3c4043",
    QPalette.ColorRole.ToolTipText: "#e8eaed",
    QPalette.ColorRole.Text: "#e8eaed",
    QPalette.ColorRole.Button: "#35373a",
    QPalette.ColorRole.ButtonText: "#e8eaed",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Link: "#8ab4f8",
    QPalette.ColorRole.Highlight: "#3d7ab8",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.PlaceholderText: "#9aa0a6",
}


def system_prefers_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def resolve_dark(name: str) -> bool:
    return name == "dark" or (name == "system" and system_prefers_dark())


def apply_theme(name: str) -> str:
    """Apply a theme to the whole app (Fusion style, palette, plot colours); returns the applied name."""
    name = name if name in THEMES else "system"
    app = QApplication.instance()
    if app is None:
        return name
    app.setStyle("Fusion")
    dark = resolve_dark(name)
    palette = app.style().standardPalette()
    if dark:
        for role, color in _DARK.items():
            palette.setColor(role, QColor(color))
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#7f8387"))
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#7f8387"))
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#7f8387"))
    app.setPalette(palette)
    app.setProperty("lmstudio_dark", dark)
    from lmstudio_app.ui.plot_theme import restyle_all  # pyqtgraph is heavy: imported once a window exists

    restyle_all()
    return name


def is_dark() -> bool:
    """Whether the applied theme is dark (for widgets that pick their own colours)."""
    app = QApplication.instance()
    return bool(app is not None and app.property("lmstudio_dark"))


# Message text (errors, warnings, success) chosen to read on the light and on the dark window background.
MESSAGE_COLOURS = {
    False: {"error": "#b3261e", "warning": "#8a5a00", "ok": "#1e7e34"},
    True: {"error": "#ff8a80", "warning": "#f2c94c", "ok": "#6fdc8c"},
}


def message_style(kind: str) -> str:
    """A stylesheet for a status label showing an `error`, `warning` or `ok` message in this theme."""
    return f"color: {MESSAGE_COLOURS[is_dark()][kind]};"


def message_html(kind: str, text: object) -> str:
    """Rich text of one message in its theme colour (the text is escaped)."""
    import html

    return f"<span style='{message_style(kind)}'>{html.escape(str(text))}</span>"
