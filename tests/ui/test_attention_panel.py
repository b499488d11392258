"""The attention panel driven like a user would: type, run, click heads, change options, export, bertviz."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from lmstudio_app.core.attention.bertviz import bertviz_html, missing_assets
from lmstudio_app.core.attention.extract import AttentionResult
from lmstudio_app.core.errors import UserError
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.attention import bertviz_page
from lmstudio_app.ui.attention.controls import PART_NAMES
from lmstudio_app.ui.attention.panel import TABS, AttentionPanel
from lmstudio_app.ui.widgets.web_view import SET_HTML_LIMIT, OfflineWebView

needs_js = pytest.mark.skipif(bool(missing_assets()), reason="run packaging/dev.sh to fetch resources/js")
SENTENCE = "the cat sat on the mat"  # [CLS] + 6 words + [SEP] = 8 tokens with the tiny vocabulary


@pytest.fixture(scope="module")
def app_state(tiny_model, qapp) -> AppState:
    state = AppState()
    state.registry.load(str(tiny_model("mlm")))
    return state


@pytest.fixture
def panel(qtbot, app_state) -> AttentionPanel:
    widget = AttentionPanel(app_state)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    widget.shutdown()


def _run(qtbot, panel: AttentionPanel, text: str = SENTENCE, pair: str = "") -> AttentionResult:
    panel.text_edit.setText(text)
    panel.pair_edit.setText(pair)
    with qtbot.waitSignal(panel.result_shown, timeout=30000):
        qtbot.keyClick(panel.text_edit, Qt.Key.Key_Return)
    return panel.result


def _js(qtbot, web: OfflineWebView, script: str):
    box: dict = {}
    web.run_js(script, lambda value: box.setdefault("value", value))
    qtbot.waitUntil(lambda: "value" in box, timeout=10000)
    return box["value"]


def _wait_for_svg(qtbot, web: OfflineWebView, timeout: float = 20.0) -> list:
    """[[view, lines, rects, texts], ...] per bertviz view, once the SVG has been drawn."""
    script = (
        "JSON.stringify(Array.from(document.querySelectorAll('section.view')).map(s => [s.dataset.view,"
        " s.querySelectorAll('svg line').length, s.querySelectorAll('svg rect').length,"
        " s.querySelectorAll('svg text').length]))"
    )
    deadline = time.monotonic() + timeout
    while True:
        counts = json.loads(_js(qtbot, web, script) or "[]")
        if (counts and all(c[1] > 0 for c in counts)) or time.monotonic() > deadline:
            return counts
        qtbot.wait(200)


def _far_pixels(a: QImage, b: QImage) -> float:
    """Share of the drawn pixels whose colours differ a lot between two same-sized images."""

    def rgb(image: QImage) -> np.ndarray:
        image = image.convertToFormat(QImage.Format.Format_RGB32)
        raw = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(
            image.height(), image.bytesPerLine() // 4, 4
        )
        return raw[:, : image.width(), :3].astype(int)

    x, y = rgb(a), rgb(b)
    ink = (x.min(-1) < 200) | (y.min(-1) < 200)  # drawn pixels (not background) in either image
    return float((np.abs(x - y).max(-1) > 60)[ink].mean())


def test_overview_shows_one_cell_per_layer_and_head(qtbot, panel):
    result = _run(qtbot, panel)
    assert result.n_tokens == 8 and result.attentions.shape == (2, 2, 8, 8)
    assert len(panel.grid.cells) == result.n_layers * result.n_heads == 4
    assert panel.detail.matrix.shape == (8, 8)
    assert panel.detail.rows[0] == "[CLS]" and panel.detail.cols[-1] == "[SEP]"
    assert "8 tokens" in panel.status.text()
    panel.grab().save("/tmp/attention_panel_overview.png")


def test_clicking_a_cell_opens_that_head_and_hover_reads_the_weight(qtbot, panel):
    result = _run(qtbot, panel)
    layer, head, rect = panel.grid.cells[3]  # layer 1, head 1
    vb = panel.grid.plot.vb
    scene_point = vb.mapViewToScene(rect.center())
    widget_point = panel.grid.mapFromScene(scene_point)
    qtbot.mouseClick(panel.grid.viewport(), Qt.MouseButton.LeftButton, pos=widget_point)
    assert (panel.layer, panel.head) == (layer, head) == (1, 1)
    assert panel.detail_title.text().startswith("Layer 1, head 1")
    np.testing.assert_allclose(panel.detail.matrix, result.attentions[1, 1], rtol=1e-6)
    # hover over the detail map (row 1 "the", column 2 "cat"): the readout names both tokens and the weight
    qtbot.wait(200)  # let the new map settle into its final geometry
    scene_point = panel.detail.plot.vb.mapViewToScene(QPointF(2.5, 1.5))
    qtbot.mouseMove(panel.detail.viewport(), panel.detail.mapFromScene(scene_point))
    qtbot.waitUntil(lambda: panel.detail.readout != "", timeout=3000)
    text = panel.detail.readout
    weight = fmt.percent(float(result.attentions[1, 1, 1, 2]))
    assert text == f"query “the” gives {weight} of its attention to key “cat”"


def test_hide_specials_renormalise_and_threshold(qtbot, panel):
    _run(qtbot, panel)
    panel.hide_special.setChecked(True)
    assert panel.detail.matrix.shape == (6, 6)
    assert "[CLS]" not in panel.detail.rows
    assert panel.detail.matrix.sum(-1).max() < 1.0  # the weight on [CLS]/[SEP] is gone
    panel.renormalise.setChecked(True)
    np.testing.assert_allclose(panel.detail.matrix.sum(-1), 1.0, rtol=1e-5)
    panel.threshold.setValue(20)  # 0.20
    shown = panel.detail.matrix
    assert ((shown == 0) | (shown >= 0.2)).all()
    assert panel.grid.weights.shape == (2, 2, 6, 6)


def test_token_range_narrows_every_view(qtbot, panel):
    _run(qtbot, panel)
    panel.start_spin.setValue(2)
    panel.stop_spin.setValue(5)
    qtbot.waitUntil(lambda: panel.grid.weights.shape == (2, 2, 4, 4), timeout=3000)
    assert panel.detail.rows == ["cat", "sat", "on", "the"]
    assert panel.neuron_token.count() == 4 and panel.neuron_token.itemText(0) == "2: cat"


def test_head_summary_is_clickable(qtbot, panel):
    _run(qtbot, panel)
    panel.tabs.setCurrentIndex(TABS.index("Head summary"))
    maps = panel.summary_maps
    assert set(maps) == {"entropy", "distance", "special_share"}
    for heat in maps.values():
        assert heat.matrix.shape == (2, 2)
    assert maps["special_share"].matrix.min() >= 0.0 and maps["special_share"].matrix.max() <= 1.0
    entropy = maps["entropy"]
    qtbot.wait(200)  # final geometry
    point = entropy.mapFromScene(entropy.plot.vb.mapViewToScene(QPointF(1.5, 0.5)))  # layer 0, head 1
    qtbot.mouseClick(entropy.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert TABS[panel.tabs.currentIndex()] == "Overview"
    assert (panel.layer, panel.head) == (0, 1)


def test_rollout_map_and_bars(qtbot, panel):
    result = _run(qtbot, panel)
    panel.tabs.setCurrentIndex(TABS.index("Rollout"))
    assert panel.rollout_map.matrix.shape == (8, 8)
    np.testing.assert_allclose(panel.rollout_map.matrix.sum(-1), 1.0, rtol=1e-5)
    panel.rollout_token.setCurrentIndex(2)
    assert len(panel.rollout_bars.values) == result.n_tokens
    np.testing.assert_allclose(panel.rollout_bars.values, panel.rollout_map.matrix[2], rtol=1e-5)


def test_neuron_view_for_a_chosen_head_and_token(qtbot, panel):
    result = _run(qtbot, panel)
    panel.tabs.setCurrentIndex(TABS.index("Neuron"))
    panel.neuron_layer.setValue(1)
    panel.neuron_head.setValue(0)
    panel.neuron_token.setCurrentIndex(3)
    assert panel.neuron_products.matrix.shape == (8, 16)  # keys x head dimensions
    np.testing.assert_allclose(panel.neuron_bars.values, result.attentions[1, 0, 3], rtol=1e-5)
    assert "“sat”" in panel.neuron_note.text()


def test_exports_png_svg_json_html(qtbot, panel, tmp_path):
    result = _run(qtbot, panel, pair="the dog ran")
    png = panel.export("png", tmp_path / "grid.png")
    image = QImage(str(png))
    assert png.stat().st_size > 1000 and image.size() == panel.grid.size()
    assert (
        len({image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}) > 20
    )
    data = json.loads(panel.export("json", tmp_path / "w.json").read_text(encoding="utf-8"))
    assert data["tokens"] == result.tokens and np.allclose(data["attentions"], result.attentions)
    if not missing_assets():
        page = panel.export("html", tmp_path / "v.html").read_text(encoding="utf-8")
        assert "<script src" not in page and "Sentence A -&gt; Sentence B" in page
    # A high-contrast input (each token attends to itself or its neighbour) so that misplaced cells show.
    n = 10
    att = np.stack([np.eye(n), np.roll(np.eye(n), 1, axis=1)])[None].astype(np.float32)
    panel.set_result(AttentionResult("contrast", [f"t{i}" for i in range(n)], np.zeros(n, dtype=bool), att))
    for tab in ("Overview", "Rollout"):
        panel.tabs.setCurrentIndex(TABS.index(tab))
        png = QImage(str(panel.export("png", tmp_path / f"{tab}.png")))
        svg = panel.export("svg", tmp_path / f"{tab}.svg")
        assert "<svg" in svg.read_text(encoding="utf-8")
        drawn = QImage(png.size(), QImage.Format.Format_RGB32)
        drawn.fill(Qt.GlobalColor.white)
        painter = QPainter(drawn)
        QSvgRenderer(str(svg)).render(painter)
        painter.end()
        # The SVG shows the same picture as the PNG (cells, axes and labels in the same places); the
        # colour bar's gradient is an embedded image that the SVG renderer resamples, so it is left out.
        width = int(panel.export_widget().colorbar.sceneBoundingRect().left())
        assert (
            _far_pixels(drawn.copy(0, 0, width, png.height()), png.copy(0, 0, width, png.height())) < 0.1
        ), tab


def test_export_dialog_refuses_a_bad_place_in_one_line(qtbot, panel, tmp_path, monkeypatch):
    """What the user picks in the Save dialog is checked first: a PNG is never written under a .jpg
    name, and a folder that does not exist is said as such; a good name is saved."""
    from PySide6.QtWidgets import QFileDialog

    _run(qtbot, panel)
    picked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (picked[-1], "PNG image (*.png)"))
    for bad, said in (
        (tmp_path / "grid.jpg", f"cannot write {tmp_path / 'grid.jpg'}: the .jpg format is not supported"),
        (tmp_path / "no" / "grid.png", f"the folder {tmp_path / 'no'} does not exist"),
    ):
        picked.append(str(bad))
        panel._export_dialog("png")
        assert said in panel.status.text() and "Saved" not in panel.status.text()
    assert list(tmp_path.iterdir()) == []
    picked.append(str(tmp_path / "grid.png"))
    panel._export_dialog("png")
    assert panel.status.text() == f"Saved {tmp_path / 'grid.png'}"
    assert (tmp_path / "grid.png").read_bytes().startswith(b"\x89PNG")


def test_no_model_and_empty_text_say_what_to_do(qtbot):
    empty = AttentionPanel(AppState())
    qtbot.addWidget(empty)
    assert not empty.show_button.isEnabled()
    assert (
        empty.status.text() == "No model is loaded: load one in the Models tab (any BERT-like model works)."
    )
    with pytest.raises(Exception, match="Show a sentence"):
        empty.export("json", "x.json")


def test_empty_sentence_is_refused(qtbot, panel):
    panel.text_edit.setText("   ")
    assert panel.run() is None
    assert "Type a sentence" in panel.status.text()


def test_missing_js_keeps_native_views_and_explains(qtbot, panel, monkeypatch):
    monkeypatch.setattr(bertviz_page, "missing_assets", lambda: ["require.js"])
    _run(qtbot, panel)
    panel.tabs.setCurrentIndex(TABS.index("bertviz"))
    assert "packaging/dev.sh" in panel.bertviz_note.text()
    assert panel.web.view is None and not panel.web.isVisible()
    panel.tabs.setCurrentIndex(TABS.index("Overview"))
    assert len(panel.grid.cells) == 4


@needs_js
def test_bertviz_tab_renders_offline_in_qwebengine(qtbot, panel):
    _run(qtbot, panel, pair="the dog ran")
    assert panel.web.view is None  # no browser until the tab is opened
    with qtbot.waitSignal(panel.bertviz_loaded, timeout=60000) as loaded:
        panel.tabs.setCurrentIndex(TABS.index("bertviz"))
    assert loaded.args == [True]
    counts = _wait_for_svg(qtbot, panel.web)
    assert [c[0] for c in counts] == ["head", "model"]
    head, model = counts
    assert head[1] == 2 * 12 * 12  # one line per head and token pair (12 tokens: [CLS] 6 [SEP] 3 [SEP])
    assert model[1] == 2 * 2 * 12 * 12  # every layer x head thumbnail
    assert head[3] >= 24  # token labels on both sides
    assert panel.web.blocked_requests == []
    panel.grab().save("/tmp/attention_panel_bertviz.png")
    with qtbot.waitSignal(panel.bertviz_loaded, timeout=60000):
        panel.bertviz_choice.setCurrentText("Model view")
    counts = _wait_for_svg(qtbot, panel.web)
    assert [c[0] for c in counts] == ["model"] and counts[0][1] == 2 * 2 * 12 * 12


@needs_js
def test_large_page_goes_through_a_file_and_network_requests_are_blocked(qtbot, tmp_path):
    rng = np.random.default_rng(1)
    att = rng.random((220, 1, 40, 40)).astype(np.float32)
    att /= att.sum(-1, keepdims=True)
    tokens = [f"w{i}" for i in range(40)]
    big = AttentionResult("synthetic", tokens, np.zeros(40, dtype=bool), att)
    page = bertviz_html(big, views=("head",))
    assert len(page.encode()) > SET_HTML_LIMIT  # too big for setHtml's data: URL
    web = OfflineWebView()
    qtbot.addWidget(web)
    web.resize(800, 600)
    web.set_html(page)  # before the first show: kept until the view exists
    with qtbot.waitSignal(web.load_finished, timeout=60000):
        web.show()
    assert web._temp is not None and web._temp.exists()
    assert _wait_for_svg(qtbot, web)[0][1] == 40 * 40
    assert web.blocked_requests == []
    # A page that does try the network is stopped and the attempt recorded.
    with qtbot.waitSignal(web.load_finished, timeout=30000):
        web.set_html(
            '<html><body><script src="https://cdnjs.cloudflare.com/x.js"></script><img src="http://example.com/a.png"></body></html>'
        )
    qtbot.waitUntil(lambda: len(web.blocked_requests) >= 2, timeout=10000)
    assert any("cdnjs" in url for url in web.blocked_requests)
    web.shutdown()
    assert web._temp is None


def test_bertviz_refuses_very_long_ranges_and_native_views_take_them(qtbot, panel):
    n = 200
    att = np.full((1, 2, n, n), 1.0 / n, dtype=np.float32)
    tokens = ["[CLS]", *[f"w{i}" for i in range(n - 2)], "[SEP]"]
    special = np.array([t.startswith("[") for t in tokens])
    panel.set_result(AttentionResult("synthetic", tokens, special, att))
    assert panel.grid.weights.shape == (1, 2, n, n) and len(panel.grid.cells) == 2
    panel.tabs.setCurrentIndex(TABS.index("bertviz"))
    assert "too many for bertviz" in panel.bertviz_note.text()
    assert panel.web.view is None
    with pytest.raises(UserError, match="at most 128"):
        panel.export("html", "/tmp/never-written.html")
    panel.stop_spin.setValue(49)  # tokens 0..49: a range bertviz can draw
    qtbot.waitUntil(lambda: panel.web.isVisible(), timeout=5000)
    assert "too many" not in panel.bertviz_note.text()


def test_a_newly_loaded_model_is_selected(qtbot, tiny_model):
    state = AppState()
    first = state.registry.load(str(tiny_model("mlm")))
    widget = AttentionPanel(state)
    qtbot.addWidget(widget)
    assert widget.model_combo.currentData() == first.key
    second = state.registry.load(str(tiny_model("classifier")))
    state.add_loaded(second)
    assert widget.model_combo.count() == 2 and widget.model_combo.currentData() == second.key
    state.unload(second.key)
    assert widget.model_combo.count() == 1 and widget.model_combo.currentData() == first.key


def test_empty_state_follows_the_loaded_models(qtbot, tiny_model):
    """Before "Show attention": no "load a model" once one is loaded, and no empty plot with odd axes."""
    state = AppState()
    widget = AttentionPanel(state)
    qtbot.addWidget(widget)
    assert widget.status.text().startswith("No model is loaded")
    state.add_loaded(state.registry.load(str(tiny_model("mlm"))))
    assert widget.status.text().startswith("Type a sentence") and widget.show_button.isEnabled()
    widget.resize(1024, 700)
    widget.show()
    assert widget.stack.currentWidget() is widget.empty and widget.empty.text() == widget.status.text()
    assert not widget.tabs.isVisible()  # no empty plot with meaningless axes


# ---- decoders: a causal LM's mask, an encoder-decoder's three attentions ---------------------------------
@pytest.fixture(scope="module")
def decoder_state(tiny_decoder, qapp) -> AppState:
    state = AppState()
    for kind in ("gpt2", "t5"):
        state.registry.load(str(tiny_decoder(kind)))
    return state


@pytest.fixture
def decoder_panel(qtbot, decoder_state) -> AttentionPanel:
    widget = AttentionPanel(decoder_state)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    widget.shutdown()


def _pick(panel: AttentionPanel, family: str) -> None:
    keys = [m.key for m in panel.state.registry.models() if m.family == family]
    panel.model_combo.setCurrentIndex(panel.model_combo.findData(keys[0]))


def _cell_colours(image: QImage, heat, row: int, col: int) -> set[str]:
    """The colours drawn inside one cell of a heatmap (its middle half), as #rrggbb."""
    vb = heat.plot.vb
    top_left = heat.mapFromScene(vb.mapViewToScene(QPointF(col + 0.25, row + 0.25)))
    bottom_right = heat.mapFromScene(vb.mapViewToScene(QPointF(col + 0.75, row + 0.75)))
    return {
        image.pixelColor(x, y).name()
        for x in range(top_left.x(), bottom_right.x())
        for y in range(top_left.y(), bottom_right.y())
    }


def test_causal_maps_draw_the_upper_triangle_as_masked(qtbot, decoder_panel):
    from lmstudio_app.core.attention.analysis import head_statistics
    from lmstudio_app.core.attention.extract import MASKED_NOTE
    from lmstudio_app.ui.plot_theme import colours
    from lmstudio_app.ui.widgets.masked import masked_colours

    panel = decoder_panel
    _pick(panel, "causal")
    assert panel.controls.text_label.text() == "Text:" and not panel.pair_edit.isEnabled()
    assert panel.part_combo.isHidden()
    result = _run(qtbot, panel)
    n = result.n_tokens
    later = np.triu(np.ones((n, n), dtype=bool), 1)
    assert result.causal and result.tokens[0] == "<s>" and "causal" in panel.status.text()
    panel.select_head(1, 1)
    assert np.array_equal(np.isnan(panel.detail.matrix), later)  # masked, not zero
    np.testing.assert_allclose(np.nan_to_num(panel.detail.matrix), result.attentions[1, 1], rtol=1e-6)
    assert np.array_equal(np.isnan(panel.grid.weights[0, 1]), later)
    assert panel.detail.hatch.isVisible() and panel.grid.hatch.isVisible()
    assert panel.detail.describe(0, n - 1) == f"<s> → {result.tokens[-1]}: {MASKED_NOTE}"
    assert "hatched: masked" in panel.detail_title.text()
    # what is drawn: a masked cell shows the hatch's colours, an allowed one the weight's colour
    qtbot.wait(100)
    image = panel.detail.grab().toImage()
    fill, stripe = masked_colours(colours())
    assert fill.name() in _cell_colours(image, panel.detail, 0, n - 1)
    assert not _cell_colours(image, panel.detail, n - 1, 0) & {fill.name(), stripe.name()}
    # the grid's hover over a masked part of a head says so
    _layer, _head, rect = panel.grid.cells[0]
    corner = panel.grid.plot.vb.mapViewToScene(QPointF(rect.right() - 1, rect.top() + 1))
    qtbot.mouseMove(panel.grid.viewport(), panel.grid.mapFromScene(corner))
    qtbot.waitUntil(lambda: panel.grid.readout != "", timeout=3000)
    assert panel.grid.readout.endswith(MASKED_NOTE)
    panel.tabs.setCurrentIndex(TABS.index("Rollout"))
    assert np.array_equal(np.isnan(panel.rollout_map.matrix), later)
    np.testing.assert_allclose(panel.stats.entropy, head_statistics(result).entropy)


def test_encoder_decoder_selector_switches_between_encoder_decoder_and_cross(qtbot, decoder_panel, tmp_path):
    panel = decoder_panel
    _pick(panel, "seq2seq")
    assert panel.controls.text_label.text() == "Source:" and panel.controls.pair_label.text() == "Target:"
    assert panel.part_combo.isVisible() and panel.pair_edit.isEnabled()
    _run(qtbot, panel, pair="a dog ran")
    s2s = panel.seq2seq.attention
    assert s2s.target_from == "typed" and s2s.decoder.tokens[1:4] == ["a", "dog", "ran"]
    n, m = s2s.encoder.n_tokens, s2s.decoder.n_tokens
    for key, rows, cols in (
        ("encoder", s2s.encoder.tokens, s2s.encoder.tokens),
        ("decoder", s2s.decoder.tokens, s2s.decoder.tokens),
        ("cross", s2s.decoder.tokens, s2s.encoder.tokens),
    ):
        with qtbot.waitSignal(panel.result_shown, timeout=5000):
            panel.part_combo.setCurrentIndex(panel.part_combo.findData(key))
        part = s2s.part(key)
        assert panel.result is part and panel.grid.weights.shape == (2, 4, len(rows), len(cols))
        np.testing.assert_allclose(np.nan_to_num(panel.grid.weights), part.attentions, rtol=1e-6)
        assert panel.detail.rows == rows and panel.detail.cols == cols
        assert np.isnan(panel.grid.weights).any() == (key == "decoder")  # only the decoder is masked
        assert PART_NAMES[key] in panel.status.text()  # the status line names what is shown
    assert panel.grid.weights.shape[2:] == (m, n)  # cross: decoder rows x encoder columns
    panel.tabs.setCurrentIndex(TABS.index("Rollout"))
    assert panel.rollout_page.note.isVisible() and panel.rollout_map.matrix.size == 0
    data = json.loads(panel.export("json", tmp_path / "s2s.json").read_text(encoding="utf-8"))
    assert np.array(data["cross_attentions"]).shape == (2, 4, m, n)
    _pick(panel, "causal")  # the chooser belongs to encoder-decoders only
    assert panel.part_combo.isHidden() and panel.controls.text_label.text() == "Text:"


@needs_js
def test_encoder_decoder_bertviz_tab_switches_to_cross_attention(qtbot, decoder_panel):
    panel = decoder_panel
    _pick(panel, "seq2seq")
    _run(qtbot, panel, pair="a dog ran")
    s2s = panel.seq2seq.attention
    n, m = s2s.encoder.n_tokens, s2s.decoder.n_tokens
    with qtbot.waitSignal(panel.bertviz_loaded, timeout=60000):
        panel.tabs.setCurrentIndex(TABS.index("bertviz"))
    head = _wait_for_svg(qtbot, panel.web)[0]
    assert head[0] == "head" and head[1] == 4 * n * n  # the encoder first: a line per head and token pair
    script = "JSON.stringify(Array.from(document.querySelectorAll('#filter option')).map(o => o.text))"
    options = json.loads(_js(qtbot, panel.web, script))
    assert options[:3] == ["Encoder", "Decoder", "Cross"]
    _js(
        qtbot,
        panel.web,
        "jQuery(document.querySelector('section[data-view=head] #filter')).val('2').change(); 1",
    )
    qtbot.waitUntil(lambda: _wait_for_svg(qtbot, panel.web)[0][1] == 4 * m * n, timeout=10000)
    assert panel.web.blocked_requests == []
