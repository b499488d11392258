"""The Explain tab on decoders, driven like a user in the main window at 1024x700: a tiny GPT-2's next
token (predicted, then named against another), an encoder-decoder's first token; light and dark shots."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt
from visual import assert_not_clipped, screenshot, settle

from lmstudio_app.core.explain.attribution import Explanation
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.main_window import MainWindow

PROMPT = "the old man opened the door and the dog"


@pytest.fixture(scope="module")
def window(qapp, tiny_decoder):
    state = AppState()
    for kind in ("gpt2", "t5"):
        state.add_loaded(state.registry.load(str(tiny_decoder(kind))))
    win = MainWindow(state)
    win.show()
    win.tabs.setCurrentWidget(win.panels["Explain"])
    yield win
    win.panels["Explain"].shutdown()
    win.close()


def _select(tab, architecture: str):
    tab.select_model(
        next(m.key for m in tab.state.registry.models() if m.architecture.startswith(architecture))
    )
    return tab.model()


def _explain(qtbot, tab, text: str) -> dict:
    tab.editor.setPlainText(text)
    with qtbot.waitSignal(tab.explained, timeout=60_000):
        qtbot.keyClick(tab.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    return tab.results


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_next_token_of_a_causal_lm(qtbot, window, theme):
    window.set_theme(theme)
    window.resize(1024, 700)
    tab = window.panels["Explain"].attribution
    loaded = _select(tab, "GPT2")
    assert tab.candidate_label.text() == "Next token:" and tab.candidate_edit.isVisible()
    assert not tab.class_combo.isVisible()
    tab.candidate_edit.clear()
    tab.versus_edit.clear()
    results = _explain(qtbot, tab, PROMPT)
    ids = [loaded.tokenizer.bos_token_id, *loaded.tokenizer(PROMPT, add_special_tokens=False)["input_ids"]]
    with torch.no_grad():
        predicted = int(loaded.model(torch.tensor([ids])).logits[0, -1].argmax())
    word = loaded.tokenizer.decode([predicted]).strip()
    assert all(isinstance(r, Explanation) for r in results.values())
    assert {r.target for r in results.values()} == {word}
    assert f"Predicted next token: <b>{word}</b>" in tab.summary.text()
    assert f"Explaining <b>{word}</b>" in tab.summary.text()
    info = tab.views["gradxinput"].info.text()
    assert f"log P(next = {word})" in info and "Layer: transformer.h.0 input (from wte + wpe)." in info
    assert tab.views["ig"].bars.labels == PROMPT.split()
    assert "the last token" in tab.views["rollout"].legend.toolTip()
    settle(qtbot, 250)
    screenshot(window, f"explain-next-token-{theme}-1024x700")
    assert window.width() == 1024 and window.height() <= 700
    assert_not_clipped(window)


def test_named_token_rather_than_another(qtbot, window):
    tab = window.panels["Explain"].attribution
    _select(tab, "GPT2")
    tab.candidate_edit.setText("ran")
    tab.versus_edit.setText("sat")
    results = _explain(qtbot, tab, PROMPT)
    assert results["ig"].target == "ran vs sat"
    assert "log P(next = ran) - log P(next = sat)" in tab.views["ig"].info.text()
    tab.candidate_edit.setText("xylophone")
    with qtbot.waitSignal(tab.failed, timeout=30_000) as blocker:
        tab.run()
    assert "not one token" in blocker.args[0] and "not one token" in tab.summary.text()


def test_encoder_decoder_first_token_over_its_source(qtbot, window):
    tab = window.panels["Explain"].attribution
    _select(tab, "T5")
    assert "source text" in tab.editor.placeholderText()
    tab.candidate_edit.clear()
    tab.versus_edit.clear()
    results = _explain(qtbot, tab, "the cat sat on the mat")
    assert results["ig"].kind == "next-token" and results["ig"].tokens[-1] == "</s>"
    assert "encoder.block.0 input" in tab.views["ig"].info.text()
    assert isinstance(results["rollout"], str) and "cannot explain it yet" in results["rollout"]
    assert "cannot explain it yet" in tab.views["rollout"].text.text()
