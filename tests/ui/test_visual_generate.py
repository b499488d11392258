"""The Generate tab as a person sees it at 1024x700, light and dark, for a causal LM and an encoder-decoder:
saved under tests/artifacts/, nothing cut off, the table's rows and the coloured output readable."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QTextCursor
from visual import MIN_CONTRAST, assert_not_clipped, screenshot, settle

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.main_window import MainWindow
from lmstudio_app.ui.plot_theme import contrast

PROMPT = "the old man opened the door of the house and the dog ran to the"
SOURCE = "the cat sat on the mat and the dog sat on the floor"


@pytest.fixture(scope="module")
def window(qapp, tiny_decoder):
    state = AppState()
    for key in state.settings.allKeys():
        if key.startswith("generate/"):
            state.settings.remove(key)
    for kind in ("gpt2", "t5"):
        state.add_loaded(state.registry.load(str(tiny_decoder(kind))))
    win = MainWindow(state)
    win.show()
    win.tabs.setCurrentWidget(win.panels["Generate"])
    yield win
    win.panels["Generate"].shutdown()
    win.close()


def _run(qtbot, panel, kind: str) -> None:
    panel.models.combo.setCurrentIndex(0 if kind == "causal" else 1)
    panel.source.setPlainText(SOURCE)
    panel.prompt.setPlainText(PROMPT if kind == "causal" else "")
    panel.generator.form.boxes["max_new_tokens"].setValue(40 if kind == "causal" else 12)
    panel.generator.form.boxes["min_new_tokens"].setValue(40 if kind == "causal" else 12)
    with qtbot.waitSignal(panel.generator.finished, timeout=60_000):
        panel.generate()
    qtbot.waitUntil(lambda: panel.next_tokens.table.rowCount() == 10, timeout=60_000)


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("kind", ["causal", "seq2seq"])
def test_generate_tab_reads_at_1024x700(qtbot, window, theme, kind):
    panel = window.panels["Generate"]
    window.set_theme(theme)
    window.resize(1024, 700)
    _run(qtbot, panel, kind)
    settle(qtbot, 250)
    screenshot(window, f"generate-{kind}-{theme}-1024x700")
    assert window.width() == 1024 and window.height() <= 700
    assert_not_clipped(window)
    assert panel.source.isVisible() == (kind == "seq2seq")
    table = panel.next_tokens.table
    assert table.rowViewportPosition(4) + table.rowHeight(4) <= table.viewport().height()  # five rows or more
    view = panel.generator.output.text
    assert len(view.tokens) == (40 if kind == "causal" else 12)
    limit = window.height() - window.statusBar().height()
    legend = panel.generator.output.legend
    assert legend.isVisible() and legend.mapTo(window, legend.rect().bottomLeft()).y() < limit
    assert view.horizontalScrollBar().maximum() == 0  # long output wraps
    for start in view.starts:
        cursor = QTextCursor(view.document())
        cursor.setPosition(start + 1)
        style = cursor.charFormat()
        background, text = style.background().color().name(), style.foreground().color().name()
        assert contrast(background, text) >= MIN_CONTRAST, (background, text)
