"""Keeping windows usable on small screens (1024x700 and up).

A remembered or default window size can be larger than the screen the window opens on (a laptop after a
big monitor), and a combo box sizes itself to its longest item by default, so one long model path or
column name would widen the whole window past the screen's edge.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QComboBox, QWidget

# Room for a window manager's frame (a title bar on top), which is not known before the window is shown.
FRAME = QMargins(4, 30, 4, 4)


def clamp_rect(rect: QRect, available: QRect, frame: QMargins = FRAME) -> QRect:
    """`rect` (a window's client area) shrunk and moved so that it and its frame lie in `available`."""
    area = available.marginsRemoved(frame)
    size = rect.size().boundedTo(area.size())
    x = min(max(rect.x(), area.left()), area.left() + area.width() - size.width())
    y = min(max(rect.y(), area.top()), area.top() + area.height() - size.height())
    return QRect(x, y, size.width(), size.height())


def screen_for(rect: QRect) -> QScreen:
    """The screen `rect` mostly lies on; the primary screen when it lies on none."""
    best, best_area = QGuiApplication.primaryScreen(), 0
    for screen in QGuiApplication.screens():
        overlap = screen.geometry().intersected(rect)
        if overlap.width() * overlap.height() > best_area:
            best, best_area = screen, overlap.width() * overlap.height()
    return best


def fit_to_screen(window: QWidget, size: QSize | None = None) -> None:
    """Resize `window` to `size` (default: its current size) within its screen's available area
    (QScreen.availableGeometry: without panels and docks); a window placed by restoreGeometry or move
    is moved inside it too, one never placed is left for the window manager to place."""
    rect = QRect(window.geometry().topLeft(), size or window.size())
    if window.testAttribute(Qt.WidgetAttribute.WA_Moved):
        window.setGeometry(clamp_rect(rect, screen_for(rect).availableGeometry()))
    else:
        window.resize(clamp_rect(rect, window.screen().availableGeometry()).size())


def compact_combo(combo: QComboBox, chars: int = 20) -> QComboBox:
    """Size `combo` for `chars` characters instead of its longest item (a path or model name); the
    layout may still stretch it wider."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    return combo
