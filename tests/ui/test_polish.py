"""Desktop polish a user expects: themes, shortcuts and about dialogs, crash reports that keep the app alive."""

import threading

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from lmstudio_app.core.logs import log_file
from lmstudio_app.ui.crash import CrashReporter
from lmstudio_app.ui.dialogs import AboutDialog, ShortcutsDialog
from lmstudio_app.ui.main_window import MainWindow
from lmstudio_app.ui.theme import is_dark


def test_theme_switches_and_is_remembered(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.theme_actions["dark"].trigger()
    assert is_dark()
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 80
    assert window.state.settings.value("window/theme") == "dark"
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.theme_actions["dark"].isChecked()
    again.theme_actions["light"].trigger()
    assert not is_dark()
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() > 180
    again.set_theme("system")


def test_shortcuts_dialog_lists_the_main_actions(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.panels["Fine-tune"].new_fine_tune().hide()  # its Alt+B/Alt+N must not be listed
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    rows = {
        dialog.table.item(r, 1).text(): dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())
    }
    assert rows["Show Models"] == "Ctrl+1"
    assert rows["Load the model (Ctrl+L)"] == "Ctrl+L"
    assert rows["Quit"] == "Ctrl+Q"
    assert rows["Keyboard shortcuts"] == "Ctrl+/"
    assert "Ctrl+M" in rows.values()  # insert a mask
    keys = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert not any(k.startswith("Alt+") for k in keys)  # the wizard's own buttons stay in the wizard
    n = len(window.panels)  # Ctrl+1 ... Ctrl+n switch tabs, in tab order; the rest sorted
    assert keys[:n] == [f"Ctrl+{i}" for i in range(1, n + 1)] and keys[n:] == sorted(keys[n:])


def test_about_dialog_names_versions_device_and_licences(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    dialog = AboutDialog(window)
    qtbot.addWidget(dialog)
    rows = {
        dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())
    }
    assert rows["torch"].startswith("2.") and rows["transformers"].startswith("5.")
    assert "Device cpu" in rows
    assert rows["Model all-MiniLM-L6-v2"].startswith("Apache-2.0")


def test_exception_in_a_thread_is_logged_and_shown(qtbot) -> None:
    reporter = CrashReporter()
    previous = threading.excepthook
    reporter.install()
    try:

        def boom() -> None:
            raise RuntimeError("kaboom in a worker")

        with qtbot.waitSignal(reporter.reported, timeout=5000):
            thread = threading.Thread(target=boom)
            thread.start()
            thread.join()
        qtbot.waitUntil(lambda: bool(reporter.dialogs), timeout=5000)
        dialog = reporter.dialogs[0]
        assert "RuntimeError: kaboom in a worker" in dialog.text.toPlainText()
        assert "kaboom in a worker" in log_file().read_text(encoding="utf-8")
        dialog.close()
    finally:
        import sys

        threading.excepthook = previous
        sys.excepthook = sys.__excepthook__
