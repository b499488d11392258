"""The Explain tab on a word tagger and a QA model, driven like a user in the main window at 1024x700:
pick a word (combo, then a click on the tagged sentence), read the cue word's colour; ask a question on a
passage, read the answer and the question's words; light and dark screenshots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from explain_tasks_helpers import trained_qa, trained_tagger
from PySide6.QtCore import Qt
from visual import assert_not_clipped, settle

from lmstudio_app.core.explain.attribution import Explanation
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.main_window import MainWindow

SHOTS = Path("/tmp/shots/explain-tasks")
SENTENCE = "the dog sat in house and the cat ate food"
PASSAGE = "a man drank milk on the road in Paris at night"


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory, tiny_model):
    state = AppState()
    base = tiny_model("encoder")
    for folder in (trained_tagger(tmp_path_factory, base), trained_qa(tmp_path_factory, base)):
        state.add_loaded(state.registry.load(str(folder), duplicate="copy"))
    win = MainWindow(state)
    win.show()
    win.tabs.setCurrentWidget(win.panels["Explain"])
    yield win
    win.panels["Explain"].shutdown()
    win.close()


def _select(tab, architecture: str):
    tab.select_model(next(m.key for m in tab.state.registry.models() if m.architecture == architecture))
    return tab.model()


def _run(qtbot, tab, start) -> dict:
    with qtbot.waitSignal(tab.explained, timeout=60_000):
        start()
    return tab.results


def _shot(window, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(SHOTS / f"{name}.png"))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_taggers_word_is_explained_by_the_word_before_it(qtbot, window, theme):
    window.set_theme(theme)
    window.resize(1024, 700)
    tab = window.panels["Explain"].attribution
    _select(tab, "BertForTokenClassification")
    assert (
        tab.word_picker.isVisible() and not tab.answer_inputs.isVisible() and not tab.class_combo.isVisible()
    )
    assert [tab.word_picker.tag_combo.itemText(i) for i in range(3)] == ["predicted tag", "O", "B-LOC"]
    tab.editor.setPlainText(SENTENCE)
    combo = tab.word_picker.word_combo
    assert [combo.itemText(i) for i in range(3)] == ["1 · the", "2 · dog", "3 · sat"] and combo.count() == 10
    combo.setCurrentIndex(4)
    results = _run(
        qtbot, tab, lambda: qtbot.keyClick(tab.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    )
    assert all(isinstance(r, Explanation) for r in results.values())
    ig = results["ig"]
    assert ig.kind == "tag" and ig.target == "B-LOC" and ig.focus == (4,)
    assert "Word 5 <b>house</b> is tagged <b>B-LOC</b>" in tab.summary.text()
    view = tab.views["ig"]
    assert view.bars.labels == SENTENCE.split() and int(np.argmax(view.bars.scores)) == 3  # "in"
    assert "text-decoration: underline;'>&nbsp;house&nbsp;" in view.text.text()
    assert "Explained: logit of B-LOC at word 5 (house)" in view.info.text()
    assert "the tagged word" in tab.views["rollout"].legend.toolTip()
    strip = tab.tag_strip.text()
    assert tab.tag_strip.isVisible() and ">house</a><span" in strip and "&nbsp;B-LOC</span>" in strip
    assert ">in</a> " in strip  # an O word shows no tag
    settle(qtbot, 250)
    _shot(window, f"tagger-{theme}-1024x700")
    assert window.width() == 1024 and window.height() <= 700
    assert_not_clipped(window)


def test_clicking_a_word_of_the_tagged_sentence_explains_its_tag(qtbot, window):
    tab = window.panels["Explain"].attribution
    _select(tab, "BertForTokenClassification")
    tab.editor.setPlainText("we ate food in paris with a dog")
    tab.word_picker.select(0)
    _run(qtbot, tab, tab.run)
    assert "href='4'" in tab.tag_strip.text()  # "paris", a link
    results = _run(qtbot, tab, lambda: tab.tag_strip.linkActivated.emit("4"))  # what a click on it sends
    assert tab.word_picker.word() == 4 and results["ig"].details["word"]["text"] == "paris"
    assert (
        results["ig"].target == "B-LOC"
        and results["ig"].words.words[int(np.argmax(results["ig"].words.scores))] == "in"
    )
    tab.word_picker.tag_combo.setCurrentIndex(1)  # explain "O" there instead of the predicted tag
    assert _run(qtbot, tab, tab.run)["gradxinput"].target == "O"
    tab.word_picker.tag_combo.setCurrentIndex(0)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_qa_answer_is_explained_by_the_question_and_the_passage(qtbot, window, theme):
    window.set_theme(theme)
    window.resize(1024, 700)
    tab = window.panels["Explain"].attribution
    _select(tab, "BertForQuestionAnswering")
    assert tab.answer_inputs.isVisible() and not tab.word_picker.isVisible() and not tab.tag_strip.isVisible()
    assert "passage" in tab.editor.placeholderText()
    tab.editor.setPlainText(PASSAGE)
    tab.answer_inputs.question_edit.setText("the city")
    results = _run(qtbot, tab, lambda: qtbot.keyClick(tab.answer_inputs.question_edit, Qt.Key.Key_Return))
    ig = results["ig"]
    assert ig.kind == "answer-start" and ig.target == "Paris" and ig.question_words == 2
    assert (
        "Predicted answer: <b>Paris</b>" in tab.summary.text()
        and "start logit (at paris)" in tab.summary.text()
    )
    view = tab.views["ig"]
    assert view.bars.labels[:3] == ["Q: the", "Q: city", "a"]
    assert "<b>Question:</b>" in view.text.text() and "<b>Passage:</b>" in view.text.text()
    assert "text-decoration: underline;'>&nbsp;Paris&nbsp;" in view.text.text()
    settle(qtbot, 250)
    _shot(window, f"qa-{theme}-1024x700")
    assert window.width() == 1024 and window.height() <= 700  # a long passage's bars scroll
    assert_not_clipped(window)
    tab.answer_inputs.end_combo.setCurrentIndex(1)
    ends = _run(qtbot, tab, tab.run)
    assert ends["ig"].kind == "answer-end" and "answer end logit at paris" in tab.views["ig"].info.text()
    tab.answer_inputs.end_combo.setCurrentIndex(0)


def test_a_question_left_empty_is_one_line(qtbot, window):
    tab = window.panels["Explain"].attribution
    _select(tab, "BertForQuestionAnswering")
    tab.editor.setPlainText(PASSAGE)
    tab.answer_inputs.question_edit.clear()
    with qtbot.waitSignal(tab.failed, timeout=30_000) as blocker:
        tab.run()
    assert "both a question and a context" in blocker.args[0] and "both a question" in tab.summary.text()
