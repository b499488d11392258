"""Attention as a person sees it: both themes, two window sizes, every token named, colour bars, contrast."""

from __future__ import annotations

import pytest
from visual import CASES, assert_not_clipped, assert_plot_readable, case_id, screenshot, settle

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.attention.panel import TABS
from lmstudio_app.ui.main_window import MainWindow

TEXT = "the cat sat on the mat the dog sat on the mat"
PAIR = "the dog ran on the mat"


@pytest.fixture(scope="module")
def window(qapp, tiny_model):
    state = AppState()
    state.add_loaded(state.registry.load(str(tiny_model("mlm"))))
    win = MainWindow(state)
    win.show()
    yield win
    win.panels["Attention"].shutdown()
    win.close()


@pytest.fixture(scope="module")
def panel(window, request):
    from pytestqt.qtbot import QtBot

    panel = window.panels["Attention"]
    window.tabs.setCurrentWidget(panel)
    panel.text_edit.setText(TEXT)
    panel.pair_edit.setText(PAIR)
    qtbot = QtBot(request)
    with qtbot.waitSignal(panel.result_shown, timeout=30000):
        panel.run()
    return panel


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_view_is_labelled_scaled_and_themed(qtbot, window, panel, case):
    theme, (width, height) = case
    window.set_theme(theme)
    window.resize(width, height)
    tokens = panel.result.tokens
    b = panel.result.sentence_b_start
    assert len(tokens) > 20 and b is not None
    for tab, heat in (
        ("Overview", panel.detail),
        ("Rollout", panel.rollout_map),
        ("Neuron", panel.neuron_products),
    ):
        panel.tabs.setCurrentIndex(TABS.index(tab))
        settle(qtbot)
        shot = screenshot(window, f"attention-{tab.lower()}-{case_id(case)}")
        assert shot.stat().st_size > 10_000
        assert heat.left_axis.drawn == tokens, (tab, "every query/key token is named")
        if tab != "Neuron":
            assert heat.bottom_axis.drawn == tokens, (tab, "every key token is named")
            assert heat.left_axis.b_start == b and heat.dividers[0].isVisible()
        assert heat.colorbar.isVisible() and heat.colorbar.getAxis("left").labelText
        assert_plot_readable(heat)
    assert panel.rollout_bars.axis.drawn == tokens
    assert_plot_readable(panel.rollout_bars)
    assert_plot_readable(panel.neuron_bars)
    panel.tabs.setCurrentIndex(TABS.index("Head summary"))
    settle(qtbot)
    screenshot(window, f"attention-summary-{case_id(case)}")
    for heat in panel.summary_maps.values():
        assert heat.colorbar.isVisible()
        assert_plot_readable(heat)
    assert not panel.hide_special.isEnabled()  # the statistics are over the whole input
    panel.tabs.setCurrentIndex(TABS.index("Overview"))
    settle(qtbot)
    assert panel.grid.colorbar.isVisible()
    assert_plot_readable(panel.grid)
    assert_not_clipped(window)


def test_hiding_special_tokens_reaches_the_rollout_bars_and_the_neuron_view(qtbot, panel):
    panel.hide_special.setChecked(True)
    try:
        kept = [t for t in panel.result.tokens if t not in ("[CLS]", "[SEP]")]
        panel.tabs.setCurrentIndex(TABS.index("Rollout"))
        assert panel.rollout_bars.tokens == kept and len(panel.rollout_bars.values) == len(kept)
        panel.tabs.setCurrentIndex(TABS.index("Neuron"))
        assert panel.neuron_bars.tokens == kept and panel.neuron_products.rows == kept
        assert panel.neuron_token.count() == len(kept)
        # hover texts say what the number is, with its unit
        assert panel.neuron_products.describe(0, 3).startswith(
            f"key “{kept[0]}” (A), dimension 3: q[3]·k[3] = "
        )
        assert panel.summary_maps["entropy"].describe(0, 1).startswith("layer 0, head 1: entropy ")
        assert panel.summary_maps["entropy"].describe(0, 1).endswith(" nats")
    finally:
        panel.hide_special.setChecked(False)
