"""Decoders' attention as a person sees it, light and dark at 1024x700: a causal LM's grid and head map with
the masked upper triangle hatched (not the zero colour), and an encoder-decoder's cross-attention."""

from __future__ import annotations

import numpy as np
import pytest
from visual import assert_not_clipped, assert_plot_readable, screenshot, settle

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.attention.panel import TABS
from lmstudio_app.ui.main_window import MainWindow
from lmstudio_app.ui.plot_theme import colours, lookup_table
from lmstudio_app.ui.widgets.masked import masked_colours

TEXT = "the cat sat on the mat because the dog was on the bed"


@pytest.fixture(scope="module")
def window(qapp, tiny_decoder):
    state = AppState()
    for kind in ("gpt2", "t5"):
        state.add_loaded(state.registry.load(str(tiny_decoder(kind))))
    win = MainWindow(state)
    win.show()
    yield win
    win.panels["Attention"].shutdown()
    win.close()


def _show(qtbot, window, family: str, target: str = "") -> object:
    panel = window.panels["Attention"]
    window.tabs.setCurrentWidget(panel)
    panel.tabs.setCurrentIndex(TABS.index("Overview"))
    key = next(m.key for m in panel.state.registry.models() if m.family == family)
    panel.model_combo.setCurrentIndex(panel.model_combo.findData(key))
    panel.text_edit.setText(TEXT)
    panel.pair_edit.setText(target)
    with qtbot.waitSignal(panel.result_shown, timeout=30000):
        panel.run()
    panel.select_head(1, 1)
    return panel


def _colours(image, widget, rect) -> set[str]:
    """#rrggbb colours inside a view rectangle of a pyqtgraph widget's plot (its middle part)."""
    vb = widget.plot.vb
    a = widget.mapFromScene(vb.mapViewToScene(rect.topLeft()))
    b = widget.mapFromScene(vb.mapViewToScene(rect.bottomRight()))
    xs, ys = sorted((a.x(), b.x())), sorted((a.y(), b.y()))
    return {image.pixelColor(x, y).name() for x in range(xs[0], xs[1]) for y in range(ys[0], ys[1])}


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_causal_grid_and_head_map_show_the_mask(qtbot, window, theme):
    from PySide6.QtCore import QRectF

    window.set_theme(theme)
    window.resize(1024, 700)
    panel = _show(qtbot, window, "causal")
    settle(qtbot, 300)
    screenshot(window, f"attention-causal-overview-{theme}-1024x700")
    n = panel.result.n_tokens
    fill, stripe = masked_colours(colours())
    zero = "#{:02x}{:02x}{:02x}".format(*lookup_table("weights")[0])
    assert fill.name() != zero and stripe.name() != zero  # masked is not "no attention"
    detail = panel.detail.grab().toImage()
    masked = _colours(detail, panel.detail, QRectF(n - 3.8, 0.2, 3.6, 1.6))  # top right: later keys
    assert fill.name() in masked and stripe.name() in masked and zero not in masked
    grid = panel.grid.grab().toImage()
    _l, _h, cell = panel.grid.cells[0]
    corner = QRectF(cell.right() - cell.width() / 4, cell.top() + 1, cell.width() / 4 - 1, cell.height() / 5)
    assert fill.name() in _colours(grid, panel.grid, corner)
    for view in (panel.grid, panel.detail):
        assert view.colorbar.isVisible()
        assert_plot_readable(view)
    assert panel.detail.left_axis.drawn == panel.result.tokens
    assert_not_clipped(window)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_encoder_decoder_cross_attention(qtbot, window, theme):
    window.set_theme(theme)
    window.resize(1024, 700)
    panel = _show(qtbot, window, "seq2seq", target="a dog sat on the bed")
    panel.part_combo.setCurrentIndex(panel.part_combo.findData("cross"))
    settle(qtbot, 300)
    screenshot(window, f"attention-cross-overview-{theme}-1024x700")
    s2s = panel.seq2seq.attention
    assert panel.detail.left_axis.drawn == s2s.decoder.tokens
    assert panel.detail.bottom_axis.drawn == s2s.encoder.tokens
    assert not np.isnan(panel.detail.matrix).any() and not panel.detail.hatch.isVisible()
    assert panel.part_combo.isVisible() and panel.controls.pair_label.text() == "Target:"
    for view in (panel.grid, panel.detail):
        assert view.colorbar.isVisible()
        assert_plot_readable(view)
    assert_not_clipped(window)
