"""Plot widgets used without a parent (the CLI's PNG export) are freed as soon as they are dropped.

A lambda holding `self` connected to a child's signal kept a parentless AttentionGrid alive through C++;
Qt then deleted it at exit while Python freed it a second time: `attention -o x.png` ended in SIGSEGV.
"""

from __future__ import annotations

import gc
import weakref

import pytest

from lmstudio_app.ui.widgets.attention_grid import AttentionGrid
from lmstudio_app.ui.widgets.heatmap import Heatmap


@pytest.mark.parametrize("widget_class", [AttentionGrid, Heatmap])
def test_a_dropped_parentless_widget_is_freed(qapp, widget_class) -> None:
    widget = widget_class()
    alive = weakref.ref(widget)
    del widget
    gc.collect()
    assert alive() is None


@pytest.mark.parametrize(
    "panel_path",
    [
        "lmstudio_app.ui.explain.panel:ExplainPanel",
        "lmstudio_app.ui.score.panel:ScorePanel",
        "lmstudio_app.ui.generate.panel:GeneratePanel",
    ],
)
def test_a_theme_change_just_before_a_panel_closes_restyles_nothing_dead(qtbot, panel_path) -> None:
    """A panel restyles on the next turn of the event loop after a palette change; closed in between, its
    children were gone and the restyle raised 'Internal C++ object already deleted' in the event loop."""
    import importlib

    import shiboken6
    from PySide6.QtCore import QEvent

    from lmstudio_app.ui.app_state import AppState

    module, name = panel_path.split(":")
    panel = getattr(importlib.import_module(module), name)(AppState())
    panel.changeEvent(QEvent(QEvent.Type.PaletteChange))
    shiboken6.delete(panel)
    qtbot.wait(20)  # pytest-qt fails the test on any exception raised in the event loop meanwhile
