"""The masked-word playground as a user drives it, on tiny real models."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from lmstudio_app.core.fillmask.nsp import next_sentence_probability
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.fillmask.panel import DEBOUNCE_MS, FillMaskPanel
from lmstudio_app.ui.qthreading import wait_all

WAIT_MS = 60_000


@pytest.fixture
def make_panel(qtbot, tiny_model):
    """make_panel(*kinds) -> a shown panel with those tiny models loaded through the registry."""

    def make(*kinds: str) -> FillMaskPanel:
        state = AppState()
        for kind in kinds:
            state.add_loaded(state.registry.load(str(tiny_model(kind)), duplicate="copy"))
        panel = FillMaskPanel(state)
        qtbot.addWidget(panel)
        panel.resize(1100, 800)
        panel.show()
        return panel

    yield make
    wait_all()


def _type_with_mask(qtbot, panel: FillMaskPanel, before: str, after: str) -> None:
    panel.editor.setFocus()
    qtbot.keyClicks(panel.editor, before)
    qtbot.keyClick(panel.editor, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(panel.editor, after)


def _wait_for_rows(qtbot, panel: FillMaskPanel, view: int = 0, masks: int = 1) -> None:
    def ready() -> None:
        shown = [v for v in panel.views[view].mask_views if v.isVisible()]
        assert len(shown) == masks and all(v.table.rowCount() > 0 for v in shown)

    qtbot.waitUntil(ready, timeout=WAIT_MS)


def test_type_predict_and_click_a_candidate(qtbot, make_panel) -> None:
    panel = make_panel("pretraining")
    _type_with_mask(qtbot, panel, "the cat sat on the", ".")
    assert panel.editor.toPlainText() == "the cat sat on the [MASK]."
    _wait_for_rows(qtbot, panel)
    table = panel.views[0].mask_views[0].table
    assert table.rowCount() == 5 and table.item(0, 1).text().endswith("%")
    word = table.item(1, 0).text()
    rect = table.visualItemRect(table.item(1, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    expected = f"the cat sat on the {word[2:] if word.startswith('##') else word}."
    assert panel.editor.toPlainText() == expected
    # The new text has no mask: the panel says how to write one instead of showing stale predictions.
    qtbot.waitUntil(lambda: "No mask" in panel.views[0].message.text(), timeout=WAIT_MS)
    assert not panel.views[0].mask_views[0].isVisible()


def test_selected_word_is_masked_and_k_and_joint_mode_apply(qtbot, make_panel) -> None:
    panel = make_panel("mlm")
    panel.editor.setPlainText("the dog sat on the mat.")
    cursor = panel.editor.textCursor()
    cursor.setPosition(4)
    cursor.setPosition(7, cursor.MoveMode.KeepAnchor)  # "dog"
    panel.editor.setTextCursor(cursor)
    panel.insert_mask()
    cursor.setPosition(len("the [MASK] sat on the "))
    cursor.setPosition(len("the [MASK] sat on the mat"), cursor.MoveMode.KeepAnchor)
    panel.editor.setTextCursor(cursor)
    panel.insert_mask()
    assert panel.editor.toPlainText() == "the [MASK] sat on the [MASK]."
    panel.top_k_spin.setValue(3)
    panel.mode_combo.setCurrentText("joint")
    _wait_for_rows(qtbot, panel, masks=2)
    view = panel.views[0]
    qtbot.waitUntil(lambda: view.sentences_box.isVisible() and view.sentences.rowCount() > 0, timeout=WAIT_MS)
    assert all(v.table.rowCount() == 3 for v in view.mask_views[:2])
    assert "[MASK]" not in view.sentences.item(0, 0).text()
    qtbot.mouseClick(
        view.sentences.viewport(),
        Qt.MouseButton.LeftButton,
        pos=view.sentences.visualItemRect(view.sentences.item(0, 0)).center(),
    )
    assert panel.editor.toPlainText() == view.sentences.item(0, 0).text()


def test_whole_words_pieces_and_targets(qtbot, make_panel) -> None:
    panel = make_panel("mlm")
    panel.whole_words_box.setChecked(True)
    panel.top_k_spin.setValue(40)
    panel.targets_edit.setText("dogs, mat")
    panel.pieces_spin.setValue(2)
    panel.editor.setPlainText("the cat sat on the ")
    panel.editor.moveCursor(panel.editor.textCursor().MoveOperation.End)
    panel.insert_mask()
    assert panel.editor.toPlainText() == "the cat sat on the [MASK]x2"
    _wait_for_rows(qtbot, panel)
    view = panel.views[0]
    qtbot.waitUntil(lambda: view.targets.rowCount() == 2, timeout=WAIT_MS)
    words = [view.mask_views[0].table.item(r, 0).text() for r in range(view.mask_views[0].table.rowCount())]
    assert not any(w.startswith("##") for w in words)
    assert "2 pieces" in view.mask_views[0].title()
    assert view.targets.item(0, 2).text() == "dog ##s" and view.targets.item(0, 4).text().isdigit()


def test_compare_shows_two_columns(qtbot, make_panel) -> None:
    panel = make_panel("pretraining", "mlm")
    assert panel.compare_combo.count() == 3  # (none) + two masked-LM models
    panel.compare_combo.setCurrentIndex(2)
    panel.editor.setPlainText("the cat sat on the [MASK].")
    _wait_for_rows(qtbot, panel, view=0)
    _wait_for_rows(qtbot, panel, view=1)
    left, right = panel.views
    assert left.isVisible() and right.isVisible()
    assert left.title.text() != right.title.text() and "mlm" in right.title.text()
    assert left.geometry().right() < right.geometry().left()  # side by side
    panel.compare_combo.setCurrentIndex(0)
    assert not right.isVisible()


def test_model_without_masked_lm_head_says_which_have_one(qtbot, make_panel) -> None:
    panel = make_panel("encoder", "mlm")
    panel.model_combo.setCurrentIndex(
        panel.model_combo.findText("no masked-LM head", Qt.MatchFlag.MatchContains)
    )
    panel.editor.setPlainText("the cat sat on the [MASK].")
    qtbot.wait(2 * DEBOUNCE_MS)
    assert "has no masked-LM head" in panel.note.text() and panel.note.isVisible()
    assert "Loaded models that have one: tiny_mlm" in panel.note.text()
    assert not any(v.isVisible() for v in panel.views[0].mask_views)


def test_no_model_points_to_the_models_tab(qtbot) -> None:
    from lmstudio_app.ui.main_window import MainWindow

    window = MainWindow(AppState())
    qtbot.addWidget(window)
    window.show()
    panel = window.panels["Masked words"]
    window.tabs.setCurrentWidget(panel)
    assert "No model is loaded" in panel.note.text() and "Models tab" in panel.note.text()
    qtbot.mouseClick(panel.models_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.panels["Models"]


def test_next_sentence_tab(qtbot, make_panel) -> None:
    panel = make_panel("mlm", "pretraining")
    panel.tabs.setCurrentIndex(1)
    assert "next-sentence" not in panel.nsp_combo.currentText()  # the NSP model is picked by default
    panel.sentence_a.setText("the cat sat on the mat.")
    with qtbot.waitSignal(panel.nsp_shown, timeout=WAIT_MS):
        panel.sentence_b.setText("it was happy.")
    loaded = panel._model(panel.nsp_combo)
    expected = next_sentence_probability(
        loaded.model, loaded.tokenizer, "the cat sat on the mat.", "it was happy."
    )
    assert f"P(IsNext) = {fmt.percent(expected)}:" in panel.nsp_label.text()
    panel.nsp_combo.setCurrentIndex(
        panel.nsp_combo.findText("no next-sentence head", Qt.MatchFlag.MatchContains)
    )
    qtbot.waitUntil(lambda: "has no next-sentence head" in panel.nsp_label.text(), timeout=WAIT_MS)
    assert "Loaded models that have it" in panel.nsp_label.text()


def test_clicking_a_bar_fills_that_word_and_new_models_are_offered(qtbot, make_panel, tiny_model) -> None:
    from PySide6.QtCore import QPointF

    panel = make_panel("encoder")
    assert "no masked-LM head" in panel.model_combo.currentText()
    loaded = panel.state.registry.load(str(tiny_model("mlm")), duplicate="copy")
    panel.state.add_loaded(loaded)  # loading a masked-LM model elsewhere switches the panel to it
    assert panel.model_combo.currentData() == loaded.key and panel.note.text() == ""
    panel.editor.setPlainText("a [MASK] sat.")
    _wait_for_rows(qtbot, panel)
    view = panel.views[0].mask_views[0]
    bars = view.bars
    qtbot.waitUntil(lambda: bars.plotItem.vb.viewRange()[1][1] > 3, timeout=WAIT_MS)
    scene = bars.plotItem.vb.mapViewToScene(QPointF(view.bars.values[2] / 2, len(view.words) - 1 - 2))
    qtbot.mouseClick(bars.viewport(), Qt.MouseButton.LeftButton, pos=bars.mapFromScene(scene))
    word = view.words[2]
    assert panel.editor.toPlainText() == f"a {word[2:] if word.startswith('##') else word} sat."


def test_the_embedded_demo_model_is_labelled_as_such(qtbot, tiny_model, tmp_path) -> None:
    import shutil

    from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM

    folder = shutil.copytree(tiny_model("mlm"), tmp_path / DEFAULT_MASKED_LM)  # loads under that name
    state = AppState()
    state.add_loaded(state.registry.load(str(folder)))
    panel = FillMaskPanel(state)
    qtbot.addWidget(panel)
    assert "small demo model" in panel.note.text() and "bert-base-uncased" in panel.note.text()
    assert "Models tab" in panel.note.text()
