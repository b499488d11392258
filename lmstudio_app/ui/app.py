"""Creating the QApplication the way every entry point needs it (names, settings format, WebEngine)."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from lmstudio_app import APP_DISPLAY_NAME, APP_NAME, ORG_NAME, __version__
from lmstudio_app.core.paths import resources_dir


def prepare_qt() -> None:
    """Settings that must be in place before the QApplication exists."""
    # QtWebEngine (bertviz views) needs shared GL contexts; Chromium refuses to run as root with its sandbox.
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setApplicationVersion(__version__)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)


def app_icon() -> QIcon:
    return QIcon(str(resources_dir() / "icons" / "lmstudio_app.svg"))


def make_application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication (reused if one exists, as under pytest-qt)."""
    prepare_qt()
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setDesktopFileName(APP_NAME)
    app.setWindowIcon(app_icon())
    return app
