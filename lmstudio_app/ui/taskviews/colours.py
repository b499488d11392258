"""Colours of marked spans (entity types, answers) that read on the light and the dark theme.

A span's background is a hue mixed into the theme's own text background, so its text (the theme's
foreground) keeps at least WCAG AA contrast in both themes; each entity type keeps its hue by its place in
the tagger's list of types.
"""

from __future__ import annotations

from PySide6.QtGui import QColor

from lmstudio_app.ui.explain.colours import background, foreground, mix
from lmstudio_app.ui.theme import is_dark

HUES = (
    "#4c72b0",
    "#dd8452",
    "#55a868",
    "#c44e52",
    "#8172b3",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#b5a33a",
    "#3f9fbf",
)
SPAN_MIX = 0.42  # light theme: enough colour to tell types apart, light enough for black text
DARK_MIX = 0.5  # dark theme: enough to stand out from the dark background, dark enough for light text
ANSWER = "#e6a700"  # the answer picked in a passage
EXPECTED = "#2e9e57"  # a gold answer, beside a wrong prediction


def span_colour(index: int) -> QColor:
    """The background of spans of the `index`-th type."""
    return mix(background(), QColor(HUES[index % len(HUES)]), DARK_MIX if is_dark() else SPAN_MIX)


def mark_colour(hue: str) -> QColor:
    """The background of a marked span of one named hue (ANSWER, EXPECTED)."""
    return mix(background(), QColor(hue), 0.45 if is_dark() else 0.5)


def text_colour() -> QColor:
    """The text over a span: the theme's foreground."""
    return foreground()
