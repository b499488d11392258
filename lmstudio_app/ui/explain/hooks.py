"""How other panels send a text to the Explain tab, with a few lines on their side.

`open_explain(widget, request)` switches the window to the Explain tab and runs the request there; a
widget outside the main window (e.g. the wizard opened alone) gets a standalone Explain window.
A `MapRequest` opens the Dataset map instead, base model beside fine-tuned model.
`add_explain_action` gives a table a right-click "Explain…" action for the clicked row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QTableWidget, QWidget

from lmstudio_app.ui.sizing import fit_to_screen

EXPLAIN_TAB = "Explain"
_standalone: list[QWidget] = []  # standalone windows stay alive until closed


@dataclass(frozen=True)
class ExplainRequest:
    """A text to explain with a loaded model (`model_key`) or a model folder (`model_path`, loaded on demand)."""

    text: str
    model_key: str | None = None
    model_path: Path | None = None
    model_name: str | None = None
    label: str | None = None  # class to explain; None = predicted
    candidate: str | None = None  # masked-LM: the word at the mask
    versus: str | None = None


@dataclass(frozen=True)
class MapRequest:
    """A table to map with a fine-tuned model folder (after) beside its base model (before)."""

    table: Path
    text_column: str
    label_column: str | None
    after_path: Path
    after_name: str
    before_spec: str  # the base model: embedded name, folder or hub id in the cache


def open_explain(
    widget: QWidget, request: ExplainRequest | MapRequest, app_state: object | None = None
) -> QWidget:
    """Show the Explain tab of `widget`'s window with the request filled in and running; returns the panel.

    Outside the main window a standalone Explain window opens, on `app_state` (or a fresh one).
    """
    window = widget.window()
    while not hasattr(window, "panels") and window.parentWidget() is not None:  # e.g. the wizard dialog
        window = window.parentWidget().window()
    panel = getattr(window, "panels", {}).get(EXPLAIN_TAB)
    tabs = getattr(window, "tabs", None)
    if panel is None:
        from lmstudio_app.ui.app_state import AppState
        from lmstudio_app.ui.explain.panel import ExplainPanel

        panel = ExplainPanel(app_state if isinstance(app_state, AppState) else AppState())
        panel.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        panel.setWindowTitle("Explain")
        fit_to_screen(panel, QSize(1200, 760))
        _standalone.append(panel)
        panel.destroyed.connect(lambda *_: _standalone.remove(panel) if panel in _standalone else None)
        panel.show()
    elif tabs is not None:
        tabs.setCurrentWidget(panel)
    if isinstance(request, MapRequest):
        panel.map_request(request)
    else:
        panel.explain_request(request)
    return panel


def add_explain_action(table: QTableWidget, text: str, on_row: Callable[[int], None]) -> None:
    """Right-click a row of `table` -> `text` (e.g. "Explain this row…") calls on_row(row)."""
    table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def menu(pos: QPoint) -> None:
        row = table.rowAt(pos.y())
        if row < 0:
            return
        popup = QMenu(table)
        action = QAction(text, popup)
        action.triggered.connect(lambda: on_row(row))
        popup.addAction(action)
        popup.exec(table.viewport().mapToGlobal(pos))

    table.customContextMenuRequested.connect(menu)
