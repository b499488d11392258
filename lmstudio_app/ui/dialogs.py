"""Help dialogs: every keyboard shortcut in the window, and versions, device and model licences."""

from __future__ import annotations

from PySide6.QtCore import QObject, qVersion
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app import APP_DISPLAY_NAME, __version__


def collect_shortcuts(root: QWidget) -> list[tuple[str, str]]:
    """(what it does, key) for every action, shortcut and button with a key in the window `root` itself,
    unique and sorted by key. Other windows (the fine-tune wizard's Alt+B/Alt+N, dialogs) are left out:
    their keys work only there."""
    found: dict[tuple[str, str], None] = {}

    def native(key: QKeySequence) -> str:
        return key.toString(QKeySequence.SequenceFormat.NativeText)

    def here(obj: QObject) -> bool:
        widget = obj if isinstance(obj, QWidget) else obj.parent()
        return not isinstance(widget, QWidget) or widget.window() is root

    for action in root.findChildren(QAction):
        if here(action):
            for key in action.shortcuts():
                found[(action.text().replace("&", ""), native(key))] = None
    for shortcut in root.findChildren(QShortcut):
        if here(shortcut):
            what = shortcut.whatsThis() or shortcut.objectName() or "shortcut"
            found[(what, native(shortcut.key()))] = None
    for button in root.findChildren(QAbstractButton):
        key = native(button.shortcut())
        if key and here(button):
            found[((button.toolTip() or button.text()).replace("&", ""), key)] = None
    return sorted(((w, k) for (w, k) in found if k), key=lambda wk: (_key_order(wk[1]), wk[0]))


def _key_order(key: str) -> tuple[int, str]:
    """Ctrl+1 … Ctrl+9 in number order, then the other keys alphabetically."""
    return (0, key.zfill(8)) if key[-1:].isdigit() else (1, key)


def _table(rows: list[tuple[str, str]], headers: list[str]) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(value))
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class ShortcutsDialog(QDialog):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 480)
        layout = QVBoxLayout(self)
        self.table = _table([(k, w) for w, k in collect_shortcuts(window)], ["Keys", "Action"])
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def about_rows() -> list[tuple[str, str]]:
    """What the About box lists; imports torch and transformers (the user asked, so the cost is fine)."""
    import PySide6
    import torch
    import transformers

    from lmstudio_app.core.models.devices import list_devices
    from lmstudio_app.core.models.sources import embedded_models

    rows = [
        (APP_DISPLAY_NAME, __version__),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
        ("torch", torch.__version__),
        ("transformers", transformers.__version__),
    ]
    rows += [(f"Device {d.id}", d.name) for d in list_devices()]
    rows += [(f"Model {m.name}", f"{m.license}; {m.path}") for m in embedded_models()]
    return rows


class AboutDialog(QDialog):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle(f"About {APP_DISPLAY_NAME}")
        self.resize(720, 420)
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"<b>{APP_DISPLAY_NAME}</b> — explore BERT-like models: fill masks, see attention, fine-tune "
            "classifiers. Offline-first. Licensed Apache-2.0."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = _table(about_rows(), ["Component", "Version / source and licence"])
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
