"""The Inside panel driven like a user: run each view, change controls, tick heads off, export, both themes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QScrollArea

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.inside.panel import InsidePanel
from lmstudio_app.ui.qthreading import wait_all
from lmstudio_app.ui.theme import apply_theme

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "inside"
TEXT = "the cat sat on the [MASK]"  # 8 tokens in the tiny vocabulary


@pytest.fixture(scope="module")
def app_state(tiny_model, tiny_decoder, qapp) -> AppState:
    state = AppState()
    for kind in ("pretraining", "encoder"):
        state.registry.load(str(tiny_model(kind)))
    for kind in ("gpt2", "bart"):
        state.registry.load(str(tiny_decoder(kind)))
    return state


@pytest.fixture
def panel(qtbot, app_state):
    apply_theme("light")
    widget = InsidePanel(app_state)
    qtbot.addWidget(widget)
    widget.resize(1300, 900)
    widget.show()
    widget.text_edit.setText(TEXT)
    yield widget
    widget.shutdown()
    wait_all(10_000)


def _pick(panel: InsidePanel, kind: str) -> None:
    index = next(
        i for i in range(panel.model_combo.count()) if f"tiny_{kind}" in panel.model_combo.itemData(i)
    )
    panel.model_combo.setCurrentIndex(index)


def _show(qtbot, panel: InsidePanel, index: int, start=None) -> None:
    view = panel.views[index]
    with qtbot.waitSignal(
        panel.result_shown, timeout=30_000, check_params_cb=lambda title: title == view.title
    ):
        panel.tabs.setCurrentIndex(index)
        (start or panel.run)()


def test_steps_view_shows_every_piece_and_follows_the_controls(qtbot, panel):
    _pick(panel, "pretraining")
    _show(qtbot, panel, 0, lambda: qtbot.keyClick(panel.text_edit, Qt.Key.Key_Return))
    view = panel.views[0]
    steps = view.result
    assert view.token_combo.count() == 8 and view.token_combo.itemText(2) == "2: cat"
    assert view.keys_map.rows == steps.tokens and view.keys_map.matrix.shape == (8, 16)
    np.testing.assert_allclose(view.weight_bars.values, steps.weights)
    np.testing.assert_allclose(view.map.matrix[0], steps.weights, atol=1e-6)
    assert f"differs by at most <b>{steps.max_error:.1e}</b>" in view.formulas["out"].text()
    assert "W<sup>Q</sup>, W<sup>K</sup>, W<sup>V</sup>: 32×32" in view.formulas["qkv"].text()
    assert view.layer_spin.maximum() == 1 and view.head_spin.maximum() == 1
    with qtbot.waitSignal(view.shown, timeout=30_000):
        view.token_combo.setCurrentIndex(2)
    assert view.result.choice.token == 2 and "“cat”" in view.formulas["x"].text()
    with qtbot.waitSignal(view.shown, timeout=30_000):
        view.layer_spin.setValue(1)
    assert view.result.choice.layer == 1 and view.result.max_error < 1e-4


def test_heads_view_ablation_updates_the_predictions(qtbot, panel):
    _pick(panel, "pretraining")
    _show(qtbot, panel, 1)
    view = panel.views[1]
    assert view.grid.matrix.shape == (2, 2) and view.grid.rows == ["layer 0", "layer 1"]
    assert len(view.boxes) == 4
    qtbot.waitUntil(lambda: view.ablation is not None and view.compare.rowCount() == 5, timeout=30_000)
    before = [view.compare.item(r, 1).text() for r in range(5)]
    assert before == [view.compare.item(r, 3).text() for r in range(5)]  # nothing off yet
    full = view.ablation.full
    view.grid.cell_clicked.emit(1, 0)  # clicking the grid ticks that head off too
    assert view.boxes[(1, 0)].isChecked()
    with qtbot.waitSignal(view._ablation_latest.current.result, timeout=30_000):
        pass
    view.boxes[(1, 1)].setChecked(True)
    qtbot.waitUntil(lambda: view.ablation.off == ((1, 0), (1, 1)), timeout=30_000)
    assert view.ablation.full == full and view.ablation.ablated != full
    after = [view.compare.item(r, 3).text() for r in range(5)]
    probs = [view.compare.item(r, 4).text() for r in range(5)]
    assert (after, probs) != (before, [view.compare.item(r, 2).text() for r in range(5)])
    assert "2 heads off" in view.ablation_note.text()
    view.token_combo.setCurrentIndex(3)  # "2: cat"
    np.testing.assert_allclose(view.grid.matrix, view.result.norms[:, :, 2])


def test_views_that_need_a_head_say_so_and_name_a_model_that_has_it(qtbot, panel):
    _pick(panel, "encoder")
    panel.tabs.setCurrentIndex(3)
    assert panel.run() is None
    note = panel.views[3].note.text()
    assert (
        "has no masked-LM or causal-LM head, which the layer lens needs" in note
        and "tiny_pretraining" in note
    )
    _show(qtbot, panel, 1)  # contributions work on a bare encoder; ablation says what it needs
    qtbot.waitUntil(lambda: "head ablation needs" in panel.views[1].ablation_note.text(), timeout=10_000)


def test_positions_and_word_order(qtbot, panel):
    _pick(panel, "pretraining")
    panel.views[2].count.setValue(40)
    _show(qtbot, panel, 2)
    view = panel.views[2]
    learned, fixed = view.figure.maps
    assert learned.matrix.shape == fixed.matrix.shape == (40, 40)
    assert "learned" in learned.plot.titleLabel.text and "sine/cosine" in fixed.plot.titleLabel.text
    qtbot.waitUntil(lambda: view.order is not None, timeout=30_000)
    assert sorted(view.order.reordered.split()) == sorted(TEXT.split())
    assert view.compare.rowCount() == 5 and "other order" in view.order_note.text()
    view.order_edit.setText("the cat sat on the mat")
    qtbot.keyClick(view.order_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "exactly the same words" in view.order_note.text(), timeout=30_000)


def test_lens_and_objectives(qtbot, panel):
    _pick(panel, "pretraining")
    _show(qtbot, panel, 3)
    lens = panel.views[3]
    assert lens.table.rowCount() == 3 and lens.table.item(2, 0).text() == "layer 1"
    assert lens.table.horizontalHeaderItem(2).text() == lens.result.words[0]
    assert lens.table.item(2, 2).text().endswith("(#1)")
    panel.pair_edit.setText("a dog ran")
    _show(qtbot, panel, 4)
    view = panel.views[4]
    o = view.result
    assert o.l_nsp is not None and view.table.rowCount() == len(o.masked)
    assert f"{o.total:.4f}" in view.loss_label.text()
    view.alpha.setValue(0.5)
    view.beta.setValue(2.0)  # reweighing needs no new model run
    assert view.result.masking == o.masking
    assert f"{0.5 * o.l_mlm + 2.0 * o.l_nsp:.4f}" in view.loss_label.text()
    with qtbot.waitSignal(view.shown, timeout=30_000):
        view.reroll.click()
    assert view.result.weights.seed == 1 and view.result.weights.alpha == 0.5


def test_export_png_svg_json(qtbot, panel, tmp_path):
    _pick(panel, "pretraining")
    _show(qtbot, panel, 3)
    assert panel.export_button.isEnabled()
    png, svg, js = (panel.export(kind, tmp_path / f"lens.{kind}") for kind in ("png", "svg", "json"))
    assert QImage(str(png)).width() > 100 and "<svg" in svg.read_text(encoding="utf-8")
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["words"] == panel.views[3].result.words and len(data["layers"]) == 3
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots(qtbot, app_state, theme):
    """Each view in both themes, saved to tests/artifacts/inside/ to be looked at."""
    apply_theme(theme)
    panel = InsidePanel(app_state)
    qtbot.addWidget(panel)
    panel.resize(1300, 900)
    panel.show()
    panel.text_edit.setText(TEXT)
    panel.pair_edit.setText("a dog ran")
    _pick(panel, "pretraining")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        for index, view in enumerate(panel.views):
            _show(qtbot, panel, index)
            qtbot.wait(300)
            image = panel.grab().toImage()
            assert image.save(str(ARTIFACTS / f"{index}_{view.title.lower().replace(' ', '_')}_{theme}.png"))
            corner = image.pixelColor(5, image.height() - 5)
            assert (corner.lightness() < 128) == (theme == "dark")
    finally:
        panel.shutdown()
        wait_all(10_000)
        apply_theme("light")


DECODER_TEXT = "the cat sat on the"  # <s> + 5 words for the tiny GPT-2


def _decoder_steps(qtbot, panel: InsidePanel, token: int = 3):
    _pick(panel, "gpt2")
    panel.text_edit.setText(DECODER_TEXT)
    panel.views[0].token_combo.clear()
    _show(qtbot, panel, 0)
    view = panel.views[0]
    with qtbot.waitSignal(view.shown, timeout=30_000):
        view.token_combo.setCurrentIndex(token)
    return view


def test_decoder_steps_show_the_causal_mask(qtbot, panel):
    view = _decoder_steps(qtbot, panel)
    s = view.result
    n = len(s.tokens)
    above = np.triu(np.ones((n, n), dtype=bool), 1)
    assert s.tokens == ["<s>", *DECODER_TEXT.split()] and s.choice.token == 3
    assert "GPT-2, masked self-attention" in view.header.text() and "−∞ for j &gt; i" in view.header.text()
    # the score map: masked cells are empty (not zero) and each is marked −∞; the rest are the scores
    assert view.score_map.isVisible() and view.formulas["mask"].isVisible()
    assert (np.isnan(view.score_map.matrix) == above).all()
    np.testing.assert_allclose(view.score_map.matrix[~above], s.score_map[~above])
    assert len(view.mask_marks) == above.sum() and {m.textItem.toPlainText() for m in view.mask_marks} == {
        "−∞"
    }
    assert "−∞ (masked: after the query)" in view.score_map.describe(1, 4)
    assert "the 2 keys after “sat” get −∞" in view.formulas["mask"].text()
    assert "(2 masked: −∞, no bar)" in view.score_bars.plot.titleLabel.text
    # the attention map leaves the upper triangle out; row 3 is the weights, zero after the query
    assert (np.isnan(view.map.matrix) == above).all()
    np.testing.assert_allclose(view.map.matrix[3, :4], s.weights[:4], atol=1e-6)
    assert (s.weights[4:] == 0).all() and "excluded" in view.map.describe(0, 2)
    assert (
        "Z = x + MultiHead" in view.formulas["z"].text()
        and "LayerNorm<sub>1</sub>(x)" in view.formulas["qkv"].text()
    )
    assert (
        f"differs by at most <b>{s.max_error:.1e}</b>" in view.formulas["out"].text() and s.max_error < 1e-5
    )


def test_cross_attention_steps_on_bart(qtbot, panel):
    _pick(panel, "bart")
    panel.text_edit.setText("the cat sat on the mat")
    panel.pair_edit.setText("a dog ran")
    _show(qtbot, panel, 0)
    view = panel.views[0]
    s = view.result
    assert s.form.kind == "cross" and "BART, cross-attention" in view.header.text()
    assert view.keys_map.rows == s.key_tokens == ["<s>", *"the cat sat on the mat".split(), "</s>"]
    assert view.map.matrix.shape == (len(s.tokens), 8) and not np.isnan(view.map.matrix).any()
    assert (
        view.score_map.isVisible()
        and not view.mask_marks
        and "nothing is masked" in view.formulas["mask"].text()
    )
    assert view.token_combo.itemText(1) == "1: a" and s.max_error < 1e-5
    _pick(panel, "pretraining")  # back to an encoder: the mask row goes away
    panel.pair_edit.setText("")
    panel.text_edit.setText(TEXT)
    _show(qtbot, panel, 0)
    assert not view.score_map.isVisible() and view.result.form.kind == "self"


def test_lens_follows_the_next_token_of_a_causal_lm(qtbot, panel):
    import torch

    from lmstudio_app.core.inside.anatomy import token_text

    _pick(panel, "gpt2")
    panel.text_edit.setText(DECODER_TEXT)
    panel.pair_edit.setText("a dog ran")  # sentence B does not concern a causal LM's lens
    _show(qtbot, panel, 3)
    view = panel.views[3]
    lens = view.result
    loaded = panel.current_model()
    ids = [2, *loaded.tokenizer(DECODER_TEXT, add_special_tokens=False)["input_ids"]]
    with torch.no_grad():
        top = loaded.model(torch.tensor([ids])).logits[0, -1].softmax(-1).topk(5)
    words = [token_text(loaded.tokenizer, i) for i in top.indices.tolist()]
    assert lens.follows == "next token" and not view.mask_spin.isEnabled()
    assert (
        "logit lens" in view.header.text()
        and "final top 5 as the next token after “the”" in view.prob_plot.plotItem.titleLabel.text
    )
    assert [view.table.horizontalHeaderItem(c).text() for c in range(2, 7)] == words
    assert view.table.rowCount() == 3 and view.table.item(2, 0).text() == "layer 1"
    assert view.table.item(2, 1).text().startswith(words[0]) and view.table.item(2, 2).text().endswith("(#1)")


def test_encoder_views_say_in_one_line_they_take_no_decoder(qtbot, panel):
    _pick(panel, "gpt2")
    panel.text_edit.setText(DECODER_TEXT)
    panel.tabs.setCurrentIndex(1)
    panel.run()
    view = panel.views[1]
    qtbot.waitUntil(lambda: "this view follows an encoder" in view.note.text(), timeout=30_000)
    assert "Self-attention and Layer lens take it" in view.note.text()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_decoder_screenshots(qtbot, app_state, theme):
    """The decoder's steps (scrolled to the causal mask) and the logit lens at 1024x700, both themes."""
    apply_theme(theme)
    panel = InsidePanel(app_state)
    qtbot.addWidget(panel)
    panel.resize(1024, 700)
    panel.show()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        view = _decoder_steps(qtbot, panel, token=4)
        qtbot.wait(300)
        scroll = view.findChild(QScrollArea)
        scroll.verticalScrollBar().setValue(view.formulas["mask"].y() - 8)
        qtbot.wait(200)
        assert panel.grab().save(str(ARTIFACTS / f"decoder_steps_{theme}.png"))
        _show(qtbot, panel, 3)
        qtbot.wait(300)
        image = panel.grab().toImage()
        assert image.save(str(ARTIFACTS / f"decoder_lens_{theme}.png"))
        assert panel.status.text() == "Layer lens: done. Hover a plot for exact values."
        assert (image.pixelColor(5, image.height() - 5).lightness() < 128) == (theme == "dark")
    finally:
        panel.shutdown()
        wait_all(10_000)
        apply_theme("light")
