"""Masked words as a person sees it: one number format, the probability explained, joint sentences in view."""

from __future__ import annotations

import re

import pytest
from visual import CASES, assert_not_clipped, assert_plot_readable, case_id, screenshot, settle

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.format import PROBABILITY_NOTE
from lmstudio_app.ui.main_window import MainWindow

PERCENT = re.compile(r"^(\d+(\.\d+)? %|\d\.\de-\d+ %)$")


@pytest.fixture(scope="module")
def window(qapp, tiny_model, request):
    from pytestqt.qtbot import QtBot

    state = AppState()
    state.add_loaded(state.registry.load(str(tiny_model("mlm"))))
    win = MainWindow(state)
    win.show()
    panel = win.panels["Masked words"]
    win.tabs.setCurrentWidget(panel)
    panel.mode_combo.setCurrentText("joint")
    panel.targets_edit.setText("mat, cat")
    with QtBot(request).waitSignal(panel.predictions_shown, timeout=30000):
        panel.editor.setPlainText("the [MASK] sat on the [MASK]")
    yield win
    panel.shutdown()
    win.close()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_predictions_read_the_same_everywhere(qtbot, window, case):
    theme, (width, height) = case
    window.set_theme(theme)
    window.resize(width, height)
    settle(qtbot)
    panel = window.panels["Masked words"]
    view = panel.views[0]
    screenshot(window, f"fillmask-{case_id(case)}")
    assert view.note.isVisible() and view.note.text() == PROBABILITY_NOTE
    cells = [view.mask_views[0].table.item(r, 1).text() for r in range(view.mask_views[0].table.rowCount())]
    cells += [view.sentences.item(r, 1).text() for r in range(view.sentences.rowCount())]
    cells += [view.targets.item(r, 3).text() for r in range(view.targets.rowCount())]
    assert cells and all(PERCENT.match(text) for text in cells), cells
    bars = view.mask_views[0].bars
    assert [label.toPlainText() for label in bars.labels] == cells[: len(bars.labels)]
    assert bars.plotItem.getAxis("bottom").labelText == "probability (%)"
    assert_plot_readable(bars)
    assert_not_clipped(window)
    if (width, height) == (1600, 1000):  # the joint sentences are in view without scrolling
        box = view.sentences_box
        bottom = box.mapTo(window, box.rect().bottomLeft()).y()
        assert box.isVisible() and bottom < window.height() - window.statusBar().height(), bottom
