"""Helpers of the visual tests: one window per module, themes and sizes, screenshots, readable checks.

A visual test drives a panel in the main window in both themes at 1024x700 and 1600x1000, saves the
window under tests/artifacts/ (to be looked at) and asserts what a person would notice: labels present,
colour bars present, text that contrasts with the plot, nothing cut off by the window.
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget

from lmstudio_app.ui.plot_theme import colours, contrast

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SIZES = ((1024, 700), (1600, 1000))
CASES = [(theme, size) for theme in ("light", "dark") for size in SIZES]
MIN_CONTRAST = 4.5  # WCAG AA for normal text


def case_id(case: tuple[str, tuple[int, int]]) -> str:
    theme, (w, h) = case
    return f"{theme}-{w}x{h}"


def settle(qtbot, ms: int = 150) -> None:
    """Let layouts, deferred fits and pyqtgraph's first paint happen."""
    QApplication.processEvents()
    qtbot.wait(ms)


def screenshot(widget: QWidget, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert widget.grab().save(str(path)), path
    return path


def assert_plot_readable(view: pg.GraphicsView) -> None:
    """The view's background is the theme's, and every axis's text contrasts with it."""
    c = colours()
    background = view.backgroundBrush().color().name()
    assert background == QColor(c.background).name(), (view, background)
    for item in view.scene().items():
        if isinstance(item, pg.AxisItem) and item.isVisible():
            text = item.textPen().color().name()
            assert contrast(text, background) >= MIN_CONTRAST, (view, item.orientation, text, background)


def assert_not_clipped(window: QWidget) -> None:
    """Every visible label and button lies inside the window and is at least as wide as its text needs."""
    frame = QRect(0, 0, window.width(), window.height())
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or widget.window() is not window:
            continue
        if not isinstance(widget, (QLabel, QAbstractButton)) or not widget.isVisibleTo(window):
            continue
        if any(not p.isVisible() for p in _parents(widget, window)):
            continue
        rect = QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())
        if _inside_scroll_area(widget):
            continue
        assert frame.contains(rect), (widget, widget.objectName(), rect, frame)
        if isinstance(widget, QAbstractButton) and widget.text():
            assert widget.width() >= widget.minimumSizeHint().width() - 1, (widget.text(), widget.width())


def _parents(widget: QWidget, top: QWidget) -> list[QWidget]:
    out, p = [], widget.parentWidget()
    while p is not None and p is not top:
        out.append(p)
        p = p.parentWidget()
    return out


def _inside_scroll_area(widget: QWidget) -> bool:
    from PySide6.QtWidgets import QAbstractScrollArea

    return any(isinstance(p, QAbstractScrollArea) for p in _parents(widget, widget.window()))
