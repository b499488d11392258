"""A table cell that shows a probability as a bar behind its number, so a ranked list reads at a glance.

The number is the cell's text (written by ui/format.py like every probability); the bar's length is the
probability kept in the cell's UserRole. The bar is the theme's highlight mixed into the cell's
background, light enough that the text over it keeps its contrast in both themes.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

BAR_MIX = 0.45  # share of the highlight colour in the bar


def bar_colour(palette: QPalette) -> QColor:
    """The bar's colour: the highlight, faded towards the base so the cell text stays readable."""
    base, accent = palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Highlight)
    return QColor(
        round(base.red() + (accent.red() - base.red()) * BAR_MIX),
        round(base.green() + (accent.green() - base.green()) * BAR_MIX),
        round(base.blue() + (accent.blue() - base.blue()) * BAR_MIX),
    )


class ProbabilityBarDelegate(QStyledItemDelegate):
    """Paints a bar as long as the probability in `Qt.UserRole` (0..1 of the cell's width), then the text."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        value = index.data(Qt.ItemDataRole.UserRole)
        if isinstance(value, float) and not option.state & QStyle.StateFlag.State_Selected:
            rect = QRectF(option.rect).adjusted(1, 3, -1, -3)
            rect.setWidth(rect.width() * max(0.0, min(1.0, value)))
            painter.save()
            painter.fillRect(rect, bar_colour(option.palette))
            painter.restore()
        super().paint(painter, option, index)
