"""Import the heavy stack (torch, transformers) behind a splash, before the window.

Importing torch's and transformers' C extensions holds the GIL for up to ~200 ms at a time, whichever
thread does it: on a worker thread it froze the window (the wizard's Settings page 190 ms, the first model
load 40-68 ms). Done once here, on the GUI thread while a still splash says what is loading, no later view
pays for it; the window then shows with nothing left to import, and the default model loads in ~1 s.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

from lmstudio_app import APP_DISPLAY_NAME
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.imports import import_quietly
from lmstudio_app.core.models.local import resolve_local
from lmstudio_app.ui.app import app_icon

# (what the splash names, the modules) in import order: each step is one message on the splash.
STACK: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("PyTorch", ("torch",)),
    ("Transformers", ("transformers", "transformers.models.auto.modeling_auto")),
)  # not the training stack: training runs in a process of its own (ui/finetune/training_session.py)
_SIZE = (420, 160)


def _splash_pixmap() -> QPixmap:
    pixmap = QPixmap(*_SIZE)
    pixmap.fill(QColor("#1f2430"))
    painter = QPainter(pixmap)
    painter.drawPixmap(24, 24, app_icon().pixmap(64, 64))
    painter.setPen(QColor("#f0f0f0"))
    font = QFont(painter.font())
    font.setPointSize(16)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(QRectF(104, 24, _SIZE[0] - 120, 64), Qt.AlignmentFlag.AlignVCenter, APP_DISPLAY_NAME)
    painter.end()
    return pixmap


def preload_stack(app: QApplication, model: str | None = None) -> QSplashScreen:
    """Show a splash, import the stack (and the code of the model the app will load first), return the
    splash for `finish(window)`. A model that is not local yet is skipped: its load reports the problem."""
    splash = QSplashScreen(_splash_pixmap())
    splash.show()
    steps = [*STACK, ("the model's code", ())] if model else list(STACK)
    for label, modules in steps:
        splash.showMessage(
            f"Loading {label}…",
            Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft,
            QColor("#f0f0f0"),
        )
        app.processEvents()  # the splash paints the message before the import holds the thread
        if modules:
            import_quietly(*modules)
        else:
            with contextlib.suppress(UserError):
                import_quietly(model_dir=resolve_local(model).path)
    return splash
