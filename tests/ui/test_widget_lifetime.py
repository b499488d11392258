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
