"""Plot colours per theme, applied to every pyqtgraph view and re-applied when the theme changes.

pyqtgraph takes its background and foreground when a plot is made, so a theme switch alone leaves
white plots with white text. Every view registers here (`register`) and implements
`apply_plot_theme(colours)`; `apply_theme` calls `restyle_all()`. No view writes a colour inline.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class PlotColours:
    """Everything a view may paint with; `weights`/`diverging` are (positions, RGB stops) colour maps."""

    dark: bool
    background: str
    foreground: str
    muted: str  # grid lines, separators between overview cells
    primary: str  # bars
    accent: str  # the highlighted bar, the selected head, the max-length line
    divider: str  # sentence A | sentence B
    segment_a: str  # token labels of sentence A
    segment_b: str  # token labels of sentence B
    series: tuple[str, ...]  # one colour per series or run
    weights: tuple[tuple[float, ...], tuple[tuple[int, int, int], ...]]
    diverging: tuple[tuple[float, ...], tuple[tuple[int, int, int], ...]]


LIGHT = PlotColours(
    dark=False,
    background="#ffffff",
    foreground="#202124",
    muted="#d0d0d0",
    primary="#3182bd",
    accent="#e6550d",
    divider="#c0392b",
    segment_a="#202124",
    segment_b="#1a7f37",
    series=("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"),
    weights=((0.0, 0.35, 1.0), ((255, 255, 255), (107, 174, 214), (8, 48, 107))),
    diverging=((0.0, 0.5, 1.0), ((33, 102, 172), (247, 247, 247), (178, 24, 43))),
)
DARK = PlotColours(
    dark=True,
    background="#202124",
    foreground="#e8eaed",
    muted="#4a4d52",
    primary="#6baed6",
    accent="#fd8d3c",
    divider="#ff6b6b",
    segment_a="#e8eaed",
    segment_b="#7ee2a8",
    series=("#7aa6e0", "#f0a46c", "#7cc68b", "#e57f83", "#b3a4e3"),
    # dark (zero) to bright (high), so that weak weights sink into the background as white does in light
    weights=((0.0, 0.4, 0.75, 1.0), ((32, 33, 36), (33, 102, 172), (107, 174, 214), (255, 237, 160))),
    diverging=((0.0, 0.5, 1.0), ((103, 169, 207), (48, 50, 54), (239, 138, 98))),
)


class ThemedView(Protocol):
    def apply_plot_theme(self, colours: PlotColours) -> None: ...


_VIEWS: weakref.WeakSet = weakref.WeakSet()


def colours() -> PlotColours:
    """The colours of the theme applied now (see ui/theme.py)."""
    app = QApplication.instance()
    return DARK if app is not None and app.property("lmstudio_dark") else LIGHT


def colormap(name: str, c: PlotColours | None = None) -> pg.ColorMap:
    """ "weights" (sequential, zero = background) or "diverging" (zero = neutral) of the current theme."""
    positions, stops = getattr(c or colours(), name)
    return pg.ColorMap(list(positions), [tuple(s) for s in stops])


def lookup_table(name: str, c: PlotColours | None = None) -> np.ndarray:
    """256 x 3 uint8 colours of a colour map, for ImageItem."""
    return colormap(name, c).getLookupTable(0.0, 1.0, 256, alpha=False).astype(np.uint8)


def text_on(rgb: tuple[int, int, int] | np.ndarray) -> str:
    """Black or white, whichever reads better on a cell of colour `rgb` (relative luminance)."""
    r, g, b = (float(v) for v in rgb[:3])
    return "#000000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 140 else "#ffffff"


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 = none, 21 = black on white); tests assert readability."""

    def luminance(name: str) -> float:
        color = QColor(name)
        channels = []
        for v in (color.redF(), color.greenF(), color.blueF()):
            channels.append(v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4)
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def style_plot(plot: pg.PlotItem, c: PlotColours) -> None:
    """Axes, axis labels, title and legend of one PlotItem in the theme's foreground."""
    for name in ("left", "bottom", "top", "right"):
        axis = plot.getAxis(name)
        axis.setPen(c.foreground)
        axis.setTextPen(c.foreground)
    if plot.titleLabel.text:
        plot.titleLabel.setAttr("color", c.foreground)
        plot.titleLabel.setText(plot.titleLabel.text)
    if plot.legend is not None:
        style_legend(plot.legend, c)


def show_grid(plot: pg.PlotItem, x: bool = False, y: bool = False, alpha: float = 0.2) -> None:
    """Grid lines at the major and minor ticks only: pyqtgraph's third tick level adds lines too faint to see
    that made every repaint of a plot ~6x slower (12 ms against 2 ms for an empty 490x400 plot)."""
    plot.showGrid(x=x, y=y, alpha=alpha)
    for name, on in (("bottom", x), ("left", y)):
        if on:
            plot.getAxis(name).setStyle(maxTickLevel=1)


def style_legend(legend: pg.LegendItem, c: PlotColours) -> None:
    """Legend text in the foreground on a see-through background (pyqtgraph re-colours only new labels)."""
    legend.setLabelTextColor(c.foreground)
    for _sample, label in legend.items:
        label.setText(label.text)
    fill = QColor(c.background)
    fill.setAlpha(200)
    legend.setBrush(fill)
    legend.setPen(c.muted)


def style_view(view: pg.GraphicsView, plots: list[pg.PlotItem], c: PlotColours) -> None:
    """A whole pyqtgraph widget: its background and each of its plots."""
    view.setBackground(c.background)
    for plot in plots:
        style_plot(plot, c)


def register(view: ThemedView) -> None:
    """Style `view` now and again whenever the theme changes (held weakly: views may be deleted)."""
    _VIEWS.add(view)
    view.apply_plot_theme(colours())


def restyle_all() -> None:
    """Re-apply the current theme to every registered view that still exists (called by apply_theme)."""
    c = colours()
    pg.setConfigOptions(background=c.background, foreground=c.foreground, antialias=True)
    for view in list(_VIEWS):
        if shiboken6.isValid(view):
            view.apply_plot_theme(c)
