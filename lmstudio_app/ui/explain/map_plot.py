"""The dataset map as a scatter plot: one point per row, coloured by label, prediction or correct/wrong.

One ScatterPlotItem with shared brushes keeps 10,000 points interactive; hovering a point shows its
text, clicking it emits the row index.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from lmstudio_app.core.explain.embed_map import DatasetMap
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.explain.colours import background, foreground

COLOURINGS = {"label": "label", "predicted": "predicted label", "correct": "correct / wrong"}
CATEGORY_COLOURS = (
    "#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3",
    "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd",
)  # fmt: skip
CORRECT, WRONG = "#2ca02c", "#d62728"
TIP_CHARS = 240


class MapPlot(pg.PlotWidget):
    """Scatter of a DatasetMap; `clicked(row)` when a point is clicked."""

    clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setMinimumSize(280, 240)
        self.result: DatasetMap | None = None
        self.colour_by = "label"
        self.categories: list[str] = []
        self.scatter = pg.ScatterPlotItem(size=7, pen=None, hoverable=True, tip=self._tip)
        self.scatter.sigClicked.connect(self._clicked)
        self.addItem(self.scatter)
        self.legend = self.getPlotItem().addLegend(offset=(8, 8))
        self.selected = pg.ScatterPlotItem(size=14, pen=pg.mkPen("#000", width=2), brush=None)
        self.addItem(self.selected)

    def available(self) -> list[str]:
        """The colourings this map can show."""
        if self.result is None:
            return []
        r = self.result
        have = {
            "label": r.labels is not None,
            "predicted": r.predicted is not None,
            "correct": r.correct() is not None,
        }
        return [k for k in COLOURINGS if have[k]]

    def set_map(self, result: DatasetMap, colour_by: str = "label") -> None:
        self.result = result
        self.set_colouring(colour_by)
        self.getPlotItem().autoRange()

    def set_colouring(self, colour_by: str) -> None:
        """Colour by 'label', 'predicted' or 'correct' (falls back to what the map has)."""
        r = self.result
        if r is None:
            return
        options = self.available()
        self.colour_by = colour_by if colour_by in options else (options[0] if options else "")
        values = self._values()
        self.categories = sorted(set(values)) if self.colour_by != "correct" else ["correct", "wrong"]
        palette = self._palette()
        brushes = {c: pg.mkBrush(QColor(palette[c]).lighter(100)) for c in self.categories}
        self.scatter.setData(
            x=r.xy[:, 0], y=r.xy[:, 1], data=np.arange(len(r.texts)), brush=[brushes[v] for v in values]
        )
        self.legend.clear()
        self.legend.setLabelTextColor(foreground())  # applies to labels added after it only
        for c in self.categories:
            sample = pg.ScatterPlotItem(size=9, pen=None, brush=brushes[c])
            self.legend.addItem(sample, f"{c} ({values.count(c):,})")
        self.restyle()

    def _values(self) -> list[str]:
        r = self.result
        assert r is not None
        if self.colour_by == "label" and r.labels is not None:
            return list(r.labels)
        if self.colour_by == "predicted" and r.predicted is not None:
            return list(r.predicted)
        correct = r.correct()
        if self.colour_by == "correct" and correct is not None:
            return ["correct" if c else "wrong" for c in correct]
        return ["row"] * len(r.texts)

    def _palette(self) -> dict[str, str]:
        if self.colour_by == "correct":
            return {"correct": CORRECT, "wrong": WRONG}
        return {c: CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i, c in enumerate(self.categories)}

    def restyle(self) -> None:
        """Theme colours for the background, axes, legend text and title."""
        self.setBackground(background())
        plot = self.getPlotItem()
        for side in ("left", "bottom"):
            plot.getAxis(side).setPen(foreground())
            plot.getAxis(side).setTextPen(foreground())
        self.legend.setLabelTextColor(foreground())
        self.legend.setBrush(pg.mkBrush(background()))
        self.selected.setPen(pg.mkPen(foreground(), width=2))
        if self.result is not None:
            r = self.result
            plot.setTitle(
                f"{r.model}: {len(r.texts):,} rows, {r.method.upper()} of {r.pooling} embeddings, "
                f"coloured by {COLOURINGS.get(self.colour_by, '')}",
                color=foreground().name(),
                size="9pt",
            )

    def select(self, row: int) -> None:
        """Ring one point (the one being explained)."""
        if self.result is not None and 0 <= row < len(self.result.texts):
            self.selected.setData(x=[self.result.xy[row, 0]], y=[self.result.xy[row, 1]])

    def _tip(self, x: float, y: float, data: object) -> str:
        r = self.result
        if r is None or data is None:
            return ""
        i = int(data)  # type: ignore[call-overload]
        text = r.texts[i] if len(r.texts[i]) <= TIP_CHARS else r.texts[i][: TIP_CHARS - 1] + "…"
        parts = [text]
        if r.labels is not None:
            parts.append(f"label: {r.labels[i]}")
        if r.predicted is not None and r.confidence is not None:
            parts.append(f"predicted: {r.predicted[i]} ({fmt.percent(r.confidence[i])})")
        return "\n".join(parts)

    def _clicked(self, _item: object, points: list, _event: object) -> None:
        if len(points):
            row = int(points[0].data())
            self.select(row)
            self.clicked.emit(row)
