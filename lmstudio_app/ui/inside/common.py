"""What the Inside views share: a formula above the numbers, themed plots, a worker per view, tables.

Each view asks the panel for the model and the text, hands its core call to `InsideView.start` (a
LatestOnly worker: a newer request cancels the older one), and draws the plain-numpy result it gets back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.inside.outputs import Outputs
from lmstudio_app.core.jsonio import write_bytes
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.qthreading import LatestOnly, Worker
from lmstudio_app.ui.theme import message_html
from lmstudio_app.ui.widgets.heatmap import Heatmap, export_svg, png_bytes

if TYPE_CHECKING:
    from lmstudio_app.ui.inside.panel import InsidePanel

HIGHLIGHT = (230, 85, 13)
BAR = (49, 130, 189)


def themed(widget: pg.GraphicsView) -> pg.GraphicsView:
    """Plots drawn on the theme's background, so their axis text (theme foreground) stays readable."""
    widget.setBackground(pg.getConfigOption("background"))
    return widget


def formula(html: str) -> QLabel:
    """A formula line: rich text, selectable, in a slightly larger serif face like the primer's."""
    label = QLabel(html, wordWrap=True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet("font-family: serif; font-size: 11pt;")
    return label


def strip(title: str = "") -> Heatmap:
    """A vector (or a few) as a row of signed, coloured cells: blue < 0 < red."""
    heat = themed(Heatmap(colormap="diverging", unit="value", percent=False))
    heat.value_format = "{:+.4f}"
    heat.plot.setTitle(title or None)  # an empty title would still take a row of the strip
    return heat


def show_vectors(heat: Heatmap, rows: np.ndarray, names: list[str], col_title: str = "dimension") -> None:
    """Signed values as colours; the scale ends at the 98th percentile of |value|, so that one outlying
    dimension (BERT-likes have a few) does not wash out the rest; hover reads the exact value."""
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float32))
    top = float(np.percentile(np.abs(rows), 98)) or float(np.abs(rows).max()) or 1.0
    heat.set_matrix(
        rows, names, [str(d) for d in range(rows.shape[1])], levels=(-top, top), col_title=col_title
    )


def vector_text(values: np.ndarray, shown: int = 6) -> str:
    head = ", ".join(f"{float(v):+.3f}" for v in values[:shown])
    return f"[{head}{', …' if len(values) > shown else ''}]"


class InsideView(QWidget):
    """One Inside tab; subclasses build their controls, `job` (the core call) and `draw` (the result)."""

    title = ""
    shown = Signal()  # a new result is on screen

    def __init__(self, panel: InsidePanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.result: Any = None
        self.inputs_used: tuple | None = None  # (model key, text, pair) of the result on screen
        self._latest = LatestOnly(self)
        self.layout_ = QVBoxLayout(self)
        self.note = QLabel(wordWrap=True)
        self.note.setTextFormat(Qt.TextFormat.RichText)

    def job(self, loaded: Any, text: str, pair: str | None) -> tuple[Callable[..., Any], tuple, dict]:
        """(core function, args, kwargs) for the current controls; raise UserError to refuse."""
        raise NotImplementedError

    def draw(self, result: Any) -> None:
        raise NotImplementedError

    def export_widget(self) -> QWidget:
        return self

    def numbers(self) -> dict[str, Any]:
        return self.result.to_json()

    def run(self) -> Worker | None:
        return self.panel.run_view(self)

    def start(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Worker:
        return self._latest.submit(fn, *args, **kwargs)

    def set_result(self, result: Any) -> None:
        self.result = result
        self.note.setText("")
        self.draw(result)
        self.shown.emit()

    def show_error(self, message: str) -> None:
        self.note.setText(message_html("error", message))

    def cancel(self) -> None:
        self._latest.cancel()

    @property
    def current_worker(self) -> Worker | None:
        return self._latest.current

    @property
    def busy(self) -> bool:
        current = self._latest.current
        return current is not None and not current.done


def table(headers: list[str]) -> QTableWidget:
    widget = QTableWidget(0, len(headers))
    widget.setHorizontalHeaderLabels(headers)
    widget.verticalHeader().setVisible(False)
    widget.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    widget.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return widget


def fill_table(widget: QTableWidget, rows: list[list[str]]) -> None:
    widget.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c and text[:1].isdigit():
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            widget.setItem(r, c, item)


def compare_rows(before: Outputs, after: Outputs, slot: int = 0) -> list[list[str]]:
    """Rows 'rank, word before, p, word after, p' for one mask (or the labels) of two outputs."""
    a, b = before.slots[slot], after.slots[slot]
    if before.kind == "labels":  # labels in the same order on both sides: the change reads across
        return [
            [label, fmt.percent(p), fmt.percent(q), ("+" if q >= p else "−") + fmt.percent(abs(q - p))]
            for (label, p), (_, q) in zip(a, b, strict=True)
        ]
    return [
        [str(k + 1), w1, fmt.percent(p1), w2, fmt.percent(p2)]
        for k, ((w1, p1), (w2, p2)) in enumerate(zip(a, b, strict=True))
    ]


def compare_headers(kind: str, left: str, right: str) -> list[str]:
    if kind == "labels":
        return ["label", left, right, "change"]
    return ["rank", left, "p", right, "p"]


def save_png(widget: QWidget, path: Path | str, size: QSize | None = None) -> None:
    """Any widget (plots and the layouts around them) as a PNG, drawn offscreen if it is not shown;
    written atomically (an unwritable path raises OutputError)."""
    if size is not None:
        widget.resize(size)
    if not widget.isVisible():
        widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        widget.show()
    QApplication.processEvents()
    write_bytes(path, png_bytes(widget.grab().toImage()))


def save_svg(widget: QWidget, path: Path | str, title: str) -> None:
    """Any widget as SVG: text and lines stay vectors, heat cells are embedded images."""
    export_svg(widget, path, title)
