"""The Generate tab driven like a user on tiny random decoders: type, pick a next token (click and Enter),
generate (greedy and seeded sampling), stop a long generation, an encoder-decoder's source, no model.
What the tab shows is compared with an independent call of the core on the same model."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication, QToolTip

from lmstudio_app.core.generate.next_token import next_token_distribution
from lmstudio_app.core.generate.settings import GenerateSettings
from lmstudio_app.core.generate.stream import generate
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.generate.colours import probability_colour
from lmstudio_app.ui.generate.panel import GeneratePanel
from lmstudio_app.ui.generate.strategy_form import KEY as FORM_KEY
from lmstudio_app.ui.qthreading import wait_all

WAIT_MS = 60_000


@pytest.fixture
def make_panel(qtbot, tiny_decoder, tiny_model):
    """make_panel(*kinds) -> a shown Generate panel with those tiny models loaded, settings cleared
    (decoder kinds from tiny_decoder, "encoder" a tiny BERT without a head)."""
    state = AppState()
    for key in state.settings.allKeys():
        if key.startswith(FORM_KEY):
            state.settings.remove(key)

    def make(*kinds: str, keep_settings: bool = False) -> GeneratePanel:
        for kind in kinds:
            folder = tiny_model(kind) if kind == "encoder" else tiny_decoder(kind)
            state.add_loaded(state.registry.load(str(folder), duplicate="copy"))
        panel = GeneratePanel(state)
        qtbot.addWidget(panel)
        panel.resize(1024, 640)
        panel.show()
        panel.activateWindow()  # Ctrl+Enter is a window shortcut: it needs the active window
        qtbot.waitUntil(lambda: QApplication.activeWindow() is panel)
        return panel

    yield make
    wait_all()


def _rows(panel: GeneratePanel) -> list[tuple[str, str, float]]:
    table = panel.next_tokens.table
    return [
        (table.item(r, 1).text(), table.item(r, 2).text(), table.item(r, 2).data(Qt.ItemDataRole.UserRole))
        for r in range(table.rowCount())
    ]


def _expected_rows(
    panel: GeneratePanel, prompt: str, source: str | None = None
) -> list[tuple[str, str, float]]:
    loaded = panel.models.model()
    k = panel.next_tokens.k_spin.value()
    candidates = next_token_distribution(loaded.model, loaded.tokenizer, prompt, source=source, top_k=k)
    return [
        (c.token, fmt.percent(c.prob), c.prob / candidates[0].prob) for c in candidates
    ]  # bar: share of top


def _wait_for_table(qtbot, panel: GeneratePanel, prompt: str, source: str | None = None) -> None:
    expected = _expected_rows(panel, prompt, source)
    assert len(expected) == panel.next_tokens.k_spin.value()
    qtbot.waitUntil(lambda: _rows(panel) == expected and not panel.next_tokens.waiting, timeout=WAIT_MS)


def _type_prompt(qtbot, panel: GeneratePanel, text: str) -> None:
    panel.prompt.clear()
    panel.prompt.setFocus()
    qtbot.keyClicks(panel.prompt, text)


def _generate(qtbot, panel: GeneratePanel) -> None:
    panel.prompt.setFocus()
    with qtbot.waitSignal(panel.generator.finished, timeout=WAIT_MS):
        qtbot.keyClick(panel.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def _core_generation(panel: GeneratePanel, settings: GenerateSettings, source: str | None = None):
    loaded = panel.models.model()
    return generate(loaded.model, loaded.tokenizer, panel.prompt.toPlainText(), settings, source=source)


def _hover(view, index: int) -> str:
    """The tooltip a person sees over the first character of generated token `index`."""
    cursor = QTextCursor(view.document())
    cursor.setPosition(view.starts[index] + 1)
    rect = view.cursorRect(cursor)
    QToolTip.hideText()
    QApplication.sendEvent(view.viewport(), _help_event(view, QPoint(rect.x() - 2, rect.center().y())))
    return QToolTip.text()


def _help_event(view, pos: QPoint):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent

    return QHelpEvent(QEvent.Type.ToolTip, pos, view.viewport().mapToGlobal(pos))


def test_table_follows_the_prompt_and_a_picked_token_is_appended(qtbot, make_panel) -> None:
    panel = make_panel("gpt2")
    assert not panel.source.isVisible() and panel.prompt_label.text() == "Prompt:"
    panel.next_tokens.k_spin.setValue(6)
    _type_prompt(qtbot, panel, "the cat sat on")
    _wait_for_table(qtbot, panel, "the cat sat on")
    bars = [bar for _token, _text, bar in _rows(panel)]
    assert bars[0] == 1.0 and bars == sorted(bars, reverse=True)

    table = panel.next_tokens.table
    first = table.item(0, 1).text()
    qtbot.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(table.item(0, 1)).center()
    )
    assert panel.prompt.toPlainText() == f"the cat sat on {first}"
    _wait_for_table(qtbot, panel, f"the cat sat on {first}")

    # Enter on a row steps on the same way, from the keyboard.
    table.setFocus()
    table.setCurrentCell(1, 1)
    second = table.item(1, 1).text()
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert panel.prompt.toPlainText() == f"the cat sat on {first} {second}"
    _wait_for_table(qtbot, panel, f"the cat sat on {first} {second}")


def test_greedy_generation_streams_the_cores_text_with_tooltips(qtbot, make_panel) -> None:
    panel = make_panel("gpt2")
    form = panel.generator.form
    form.strategy.setCurrentIndex(form.strategy.findData("greedy"))
    form.boxes["max_new_tokens"].setValue(8)
    form.boxes["min_new_tokens"].setValue(8)  # no early end-of-text: eight tokens to look at
    form.boxes["repetition_penalty"].setValue(1.3)  # the decoder's probabilities differ from the raw ones
    assert not form.boxes["temperature"].isVisible() and not form.boxes["num_beams"].isVisible()
    panel.prompt.setPlainText("the dog ate")
    view = panel.generator.output.text
    streamed: set[int] = set()  # how many tokens were on screen before the whole result arrived
    view.textChanged.connect(lambda: panel.generator.result or streamed.add(len(view.tokens)))
    _generate(qtbot, panel)

    settings = GenerateSettings(max_new_tokens=8, min_new_tokens=8, repetition_penalty=1.3)
    expected = _core_generation(panel, settings)
    assert view.toPlainText() == "the dog ate" + expected.text and view.generated_text() == expected.text
    assert [t.id for t in view.tokens] == [t.id for t in expected.tokens]
    assert set(range(1, 9)) <= streamed  # appended token by token, not once at the end
    assert any(t.prob != t.raw_prob for t in expected.tokens)
    assert panel.generator.progress.text() == "8 / 8 tokens"
    assert "Generated 8 tokens" in panel.generator.status.text()
    assert panel.generator.run_button.isEnabled() and not panel.generator.stop_button.isEnabled()
    for i, token in enumerate(expected.tokens):
        tip = _hover(view, i)
        assert f"<br>probability {fmt.percent(token.prob)} " in tip and "Top alternatives" in tip
        assert f"<br>raw probability {fmt.percent(token.raw_prob)} " in tip
        assert all(fmt.percent(c.prob) in tip for c in token.top)
        cursor = QTextCursor(view.document())
        cursor.setPosition(view.starts[i] + 1)
        assert cursor.charFormat().background().color() == probability_colour(token.prob)
    assert _hover(view, 0) != _hover(view, 1) or expected.tokens[0].top == expected.tokens[1].top
    assert panel.generator.output.legend.isVisible()


def test_stop_keeps_what_was_generated(qtbot, make_panel) -> None:
    panel = make_panel("gpt2")
    loaded = panel.models.model()
    hook = loaded.model.register_forward_hook(lambda *_args: time.sleep(0.05))  # a slow model: time to stop
    try:
        form = panel.generator.form
        form.boxes["max_new_tokens"].setValue(60)
        form.boxes["min_new_tokens"].setValue(60)
        panel.prompt.setPlainText("the cat sat")
        panel.generator.run_button.click()
        assert not panel.generator.run_button.isEnabled() and panel.generator.stop_button.isEnabled()
        qtbot.waitUntil(lambda: len(panel.generator.output.text.tokens) >= 3, timeout=WAIT_MS)
        with qtbot.waitSignal(panel.generator.finished, timeout=WAIT_MS):
            panel.generator.stop_button.click()
    finally:
        hook.remove()
    view = panel.generator.output.text
    n = len(view.tokens)
    assert 3 <= n < 60
    assert panel.generator.status.text() == f"Stopped after {n} tokens."
    assert panel.generator.run_button.isEnabled() and not panel.generator.stop_button.isEnabled()
    assert panel.generator.progress.value() == n
    expected = _core_generation(panel, GenerateSettings(max_new_tokens=n, min_new_tokens=n))
    assert view.generated_text() == expected.text  # what was kept is the start of the same greedy text


def test_sampling_with_a_seed_matches_the_core_and_settings_are_remembered(qtbot, make_panel) -> None:
    panel = make_panel("gpt2")
    form = panel.generator.form
    form.strategy.setCurrentIndex(form.strategy.findData("sample"))
    assert all(form.boxes[n].isVisible() for n in ("temperature", "top_k", "top_p", "seed"))
    assert not form.boxes["num_beams"].isVisible()
    values = {"max_new_tokens": 6, "temperature": 1.5, "top_k": 20, "top_p": 0.9, "seed": 7}
    for name, value in values.items():
        form.boxes[name].setValue(value)
    panel.prompt.setPlainText("a man")
    _generate(qtbot, panel)
    settings = GenerateSettings(strategy="sample", **values)
    assert form.settings() == settings
    assert panel.generator.output.text.generated_text() == _core_generation(panel, settings).text

    again = make_panel()  # a new tab on the same settings
    assert again.prompt.toPlainText() == "a man"
    assert again.generator.form.settings() == settings
    assert again.generator.form.boxes["seed"].isVisible()
    form.strategy.setCurrentIndex(form.strategy.findData("beam"))
    assert form.boxes["num_beams"].isVisible() and not form.boxes["seed"].isVisible()


def test_encoder_decoder_takes_a_source(qtbot, make_panel) -> None:
    panel = make_panel("t5")
    assert (
        panel.models.is_seq2seq()
        and panel.source.isVisible()
        and "Decoder prefix" in panel.prompt_label.text()
    )
    panel.prompt.clear()
    panel.source.setPlainText("")
    qtbot.waitUntil(lambda: "Type a source text" in panel.next_tokens.status.text(), timeout=WAIT_MS)
    panel.source.setPlainText("the cat sat on the mat")
    _wait_for_table(qtbot, panel, "", source="the cat sat on the mat")
    panel.generator.form.boxes["max_new_tokens"].setValue(5)
    _generate(qtbot, panel)
    expected = _core_generation(panel, GenerateSettings(max_new_tokens=5), source="the cat sat on the mat")
    assert panel.generator.output.text.generated_text() == expected.text
    assert [t.id for t in panel.generator.output.text.tokens] == [t.id for t in expected.tokens]


def test_without_a_generating_model_the_tab_says_what_to_load(qtbot, make_panel) -> None:
    panel = make_panel()
    assert "No model is loaded" in panel.models.note.text() and "minilm-clm" in panel.models.note.text()
    assert panel.models.note.isVisible() and panel.models.models_button.isVisible()
    panel = make_panel("encoder")
    note = panel.models.note.text()
    assert "can generate text" in note and "tiny_encoder" in note and "gpt2" in note
    assert panel.models.combo.count() == 0
    qtbot.waitUntil(lambda: "Load a model" in panel.next_tokens.status.text(), timeout=WAIT_MS)
    panel.generator.run_button.click()
    assert "Load a model that can generate" in panel.generator.status.text()


def test_a_picked_byte_level_piece_continues_the_prompt_as_decoded() -> None:
    """Byte-level BPE (GPT-2's kind) carries its own space: " sat" after "the cat", "sat" after "the cat "."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    from lmstudio_app.ui.generate.panel import appended_piece

    backend = ByteLevelBPETokenizer()
    backend.train_from_iterator(["the cat sat on the mat"] * 20, vocab_size=300, min_frequency=1)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend._tokenizer)
    sat = tokenizer(" sat", add_special_tokens=False)["input_ids"]
    assert len(sat) == 1 and tokenizer.decode(sat) == " sat"
    assert appended_piece(tokenizer, "the cat", sat[0]) == " sat"
    assert appended_piece(tokenizer, "the cat ", sat[0]) == "sat"
    assert appended_piece(tokenizer, "", sat[0]) == "sat"
