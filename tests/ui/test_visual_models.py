"""The Models tab as a person sees it: both themes, two sizes, nothing cut off, a loaded model listed."""

from __future__ import annotations

import pytest
from visual import CASES, assert_not_clipped, case_id, screenshot, settle

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.main_window import MainWindow


@pytest.fixture(scope="module")
def window(qapp, tiny_model):
    state = AppState()
    win = MainWindow(state)
    state.add_loaded(state.registry.load(str(tiny_model("mlm"))))
    win.show()
    win.tabs.setCurrentWidget(win.model_panel)
    yield win
    win.close()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_models_tab_reads_in_both_themes(qtbot, window, case):
    theme, (width, height) = case
    window.set_theme(theme)
    window.resize(width, height)
    settle(qtbot)
    screenshot(window, f"models-{case_id(case)}")
    assert window.model_panel.table.rowCount() == 1
    assert_not_clipped(window)
