"""Creating the QApplication the way every entry point needs it (names, settings format, WebEngine)."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from lmstudio_app import APP_DISPLAY_NAME, APP_NAME, ORG_NAME, __version__
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.paths import resources_dir

GUI_SWITCH_INTERVAL_S = 0.001


def prepare_qt() -> None:
    """Settings that must be in place before the QApplication exists."""
    # QtWebEngine (bertviz views) needs shared GL contexts; Chromium refuses to run as root with its sandbox.
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    # Qt's raster engine splits large fills across a pool of helper threads and the window's thread waits
    # for them; while training keeps every core busy they wait for a time slice, so painting on the
    # window's thread alone is faster here (training's 99th-percentile stall 15-19 ms -> 12 ms).
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setApplicationVersion(__version__)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)


def app_icon() -> QIcon:
    return QIcon(str(resources_dir() / "icons" / "lmstudio_app.svg"))


def check_display() -> None:
    """Refuse, in one line, to start where Qt would abort with several lines: on Linux with no display.

    Qt picks xcb (X11) or wayland unless QT_QPA_PLATFORM names a platform; without DISPLAY or
    WAYLAND_DISPLAY those cannot start, and Qt ends the process with its own multi-line message.
    """
    if not sys.platform.startswith("linux"):
        return
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    x11, wayland = bool(os.environ.get("DISPLAY")), bool(os.environ.get("WAYLAND_DISPLAY"))
    if (
        (platform == "" and not (x11 or wayland))
        or (platform == "xcb" and not x11)
        or (platform.startswith("wayland") and not wayland)
    ):
        raise UserError(
            "No display to open the window on: run it in a desktop session (DISPLAY or WAYLAND_DISPLAY "
            "set), or without a screen with QT_QPA_PLATFORM=offscreen."
        )


def make_application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication (reused if one exists, as under pytest-qt)."""
    prepare_qt()
    if QApplication.instance() is None:
        check_display()
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    # Every call into Qt lets go of the GIL; while a worker runs Python code the window's thread then waits
    # up to the switch interval to get it back, once per call. 1 ms instead of 5 ms took the longest stall
    # while the Data page reads 100k rows from 45-60 ms to 23-45 ms (benchmarks/bench_wizard_gui.py).
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setDesktopFileName(APP_NAME)
    app.setWindowIcon(app_icon())
    return app
