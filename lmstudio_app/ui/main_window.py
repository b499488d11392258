"""The main window: one tab per panel, a status bar with device and memory, remembered geometry."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSize, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget, QWidget

from lmstudio_app import APP_DISPLAY_NAME
from lmstudio_app.core.models.devices import format_bytes, memory_used
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.attention.panel import AttentionPanel
from lmstudio_app.ui.dialogs import AboutDialog, ShortcutsDialog
from lmstudio_app.ui.explain.panel import ExplainPanel
from lmstudio_app.ui.fillmask.panel import FillMaskPanel
from lmstudio_app.ui.finetune.panel import FineTunePanel
from lmstudio_app.ui.generate.panel import GeneratePanel
from lmstudio_app.ui.inside.panel import InsidePanel
from lmstudio_app.ui.models.panel import ModelPanel
from lmstudio_app.ui.panel import Panel
from lmstudio_app.ui.score.panel import ScorePanel
from lmstudio_app.ui.sizing import fit_to_screen
from lmstudio_app.ui.theme import THEMES, apply_theme

# The tabs in the order of the user's path; every panel takes (AppState, parent) and follows ui/panel.py.
PANELS: list[type[QWidget]] = [
    ModelPanel,
    FillMaskPanel,
    AttentionPanel,
    InsidePanel,
    ExplainPanel,
    ScorePanel,
    FineTunePanel,
    GeneratePanel,
]


class MainWindow(QMainWindow):
    """Hosts the panels (ui/panel.py's protocol), a status bar with device and memory, the menus."""

    def __init__(self, state: AppState | None = None) -> None:
        super().__init__()
        self.state = state or AppState(parent=self)
        self.setWindowTitle(APP_DISPLAY_NAME)
        apply_theme(str(self.state.settings.value("window/theme", "system")))  # before plots are made
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.panels: dict[str, QWidget] = {}
        for cls in PANELS:
            panel = cls(self.state, self)
            assert isinstance(panel, Panel), f"{cls.__name__} does not follow the Panel protocol"
            self.panels[panel.title] = panel
            self.tabs.addTab(panel, panel.title)
        self._build_menus()
        self.device_label = QLabel()
        self.memory_label = QLabel()
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().addPermanentWidget(self.memory_label)
        self.state.status_message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.state.models_changed.connect(self.refresh_status)
        self._timer = QTimer(self, interval=2000, timeout=self.refresh_status)
        self._timer.start()
        self.refresh_status()
        self._restore_geometry()

    @property
    def model_panel(self) -> QWidget:
        return self.panels["Models"]

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self, shortcut="Ctrl+Q", triggered=self.close)
        file_menu.addAction(quit_action)
        view = self.menuBar().addMenu("&View")
        for i, title in enumerate(self.panels):
            action = QAction(f"Show {title}", self, shortcut=f"Ctrl+{i + 1}")
            action.triggered.connect(lambda _=False, index=i: self.tabs.setCurrentIndex(index))
            view.addAction(action)
        theme_menu = view.addMenu("&Theme")
        group = QActionGroup(self)
        current = str(self.state.settings.value("window/theme", "system"))
        self.theme_actions: dict[str, QAction] = {}
        for name in THEMES:
            action = QAction(name.capitalize(), self, checkable=True, checked=name == current)
            action.triggered.connect(lambda _=False, theme=name: self.set_theme(theme))
            group.addAction(action)
            theme_menu.addAction(action)
            self.theme_actions[name] = action
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(
            QAction(
                "Keyboard &shortcuts", self, shortcut="Ctrl+/", triggered=lambda: ShortcutsDialog(self).exec()
            )
        )
        help_menu.addAction(QAction("&About", self, triggered=lambda: AboutDialog(self).exec()))

    def set_theme(self, name: str) -> None:
        """Apply and remember a theme: system (follows the desktop), light or dark."""
        applied = apply_theme(name)
        self.theme_actions[applied].setChecked(True)
        self.state.settings.setValue("window/theme", applied)

    def refresh_status(self) -> None:
        """Device of the loaded models and memory in use (process RAM, plus GPU memory when on a GPU)."""
        models = self.state.registry.models()
        devices = sorted({m.device for m in models}) or ["cpu"]
        self.device_label.setText(f"Device: {', '.join(devices)}")
        parts = [f"RAM {format_bytes(memory_used('cpu'))}"]
        parts += [f"{d} {format_bytes(memory_used(d))}" for d in devices if d != "cpu"]
        parts.append(f"{len(models)} model{'s' if len(models) != 1 else ''} loaded")
        self.memory_label.setText(" | ".join(parts))

    def _restore_geometry(self) -> None:
        """The remembered geometry (or 1200x800), kept within the available area of the screen it lands
        on: the screen may be smaller than the one the geometry was saved on."""
        geometry = self.state.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty() and self.restoreGeometry(geometry):
            if not (self.isMaximized() or self.isFullScreen()):
                fit_to_screen(self)
        else:
            fit_to_screen(self, QSize(1200, 800))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if not all(panel.may_close() for panel in self.panels.values()):
            event.ignore()
            return
        for panel in self.panels.values():
            panel.shutdown()
        self.state.settings.setValue("window/geometry", self.saveGeometry())
        self.state.settings.sync()
        event.accept()
