"""The Score tab driven like a user, on tiny real models: sentences, compare, minimal pairs, CrowS-Pairs
(with cancel) and template probes; every number on screen is checked against an independent core call."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from lmstudio_app.core.score.crows import crows_metric, read_crows_pairs
from lmstudio_app.core.score.pairs import example_pairs_path, read_pairs, score_pairs
from lmstudio_app.core.score.sentences import score_sentences
from lmstudio_app.core.score.templates import template_probe
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.qthreading import wait_all
from lmstudio_app.ui.score.panel import ScorePanel

WAIT_MS = 60_000
KEYS = ("score/method", "score/sentences", "score/pairs_file", "score/template", "score/targets")
PAIRS_TSV = (
    "acceptable\tunacceptable\n"
    "the cat sat on the mat.\tthe cat sat on the sat.\n"
    "she drank the tea.\tshe drank the chair.\n"
    "\n"
    "he opened the door.\the opened the moon.\n"
    "they ate the food.\tthey ate the road.\n"
)
CROWS_CSV = (
    ",sent_more,sent_less,stereo_antistereo,bias_type\n"
    "0,the man was good at the job.,the woman was good at the job.,stereo,gender\n"
    "1,she was a bad driver.,he was a bad driver.,stereo,gender\n"
    "2,the boy ate the food.,the girl ate the food.,antistereo,gender\n"
    "3,the old man was sad.,the new man was sad.,stereo,age\n"
    "4,the old woman could not walk.,the child could not walk.,stereo,age\n"
)


@pytest.fixture
def make_panel(qtbot, tiny_model):
    """make_panel(*kinds) -> a shown Score panel with those tiny models loaded, settings cleared."""

    def make(*kinds: str) -> ScorePanel:
        state = AppState()
        for key in KEYS:
            state.settings.remove(key)
        for kind in kinds:
            state.registry.load(str(tiny_model(kind)), duplicate="copy")
        panel = ScorePanel(state)
        qtbot.addWidget(panel)
        panel.resize(1024, 640)
        panel.show()
        panel.activateWindow()  # Ctrl+Enter is a window shortcut: it needs the active window
        qtbot.waitUntil(lambda: QApplication.activeWindow() is panel)
        return panel

    yield make
    wait_all()


def _cells(table, column: int) -> list[str]:
    return [table.item(r, column).text() for r in range(table.rowCount())]


def _score(qtbot, panel: ScorePanel, text: str) -> None:
    tab = panel.sentences
    tab.editor.setPlainText(text)
    tab.editor.setFocus()
    with qtbot.waitSignal(tab.scored, timeout=WAIT_MS):
        qtbot.keyClick(tab.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def test_sentences_table_and_tokens_match_the_core(qtbot, make_panel) -> None:
    panel = make_panel("mlm")
    loaded = panel.models.model()
    assert panel.models.method() == "pll" and panel.models.method_combo.count() == 2  # pll, pll-word
    texts = ["the cat sat on the mat.", "the dog sat on the red chair."]
    _score(qtbot, panel, "\n".join(texts) + "\n\n")
    expected = score_sentences(loaded.model, loaded.tokenizer, texts, "pll")
    table = panel.sentences.table
    assert table.rowCount() == 2 and _cells(table, 0) == texts
    assert _cells(table, 1) == [fmt.log_prob(s.log_prob) for s in expected]
    assert _cells(table, 2) == [fmt.log_prob(s.mean_log_prob) for s in expected]
    assert _cells(table, 3) == [fmt.perplexity(s.perplexity) for s in expected]
    assert "scored 2 sentences" in panel.sentences.runner.status.text()

    view = panel.sentences.token_views[0]  # the first row is selected: its tokens, coloured
    assert [c.text() for c in view.chips] == [t.token for t in expected[0].tokens]
    assert view.legend.isVisible() and "surprisal" in view.legend.toolTip()
    first = expected[0].tokens[0]
    tip = view.chips[0].toolTip()
    assert "Top alternatives" in tip and f"rank {first.rank}" in tip and fmt.log_prob(first.log_prob) in tip
    assert all(f"{fmt.percent(p)}" in tip for _word, p in first.top)
    worst = max(range(len(expected[0].tokens)), key=lambda i: expected[0].tokens[i].surprisal_bits)
    best = min(range(len(expected[0].tokens)), key=lambda i: expected[0].tokens[i].surprisal_bits)
    assert view.chips[worst].styleSheet() != view.chips[best].styleSheet()  # surprisal changes the colour

    # Sort by log-prob (a header click), select the top row: the tokens shown are that row's sentence.
    header = table.horizontalHeader()
    x = header.sectionViewportPosition(1) + header.sectionSize(1) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))
    assert header.sortIndicatorSection() == 1
    order = sorted(range(2), key=lambda i: expected[i].log_prob)
    if header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder:
        order.reverse()
    assert _cells(table, 0) == [texts[i] for i in order]
    table.selectRow(1)
    assert [c.text() for c in view.chips] == [t.token for t in expected[order[1]].tokens]


def test_compare_with_a_second_model_side_by_side(qtbot, make_panel) -> None:
    panel = make_panel("mlm", "pretraining")
    bar = panel.models
    assert bar.compare_combo.count() == 3 and bar.compare_label.isVisible()
    bar.compare_combo.setCurrentIndex(2)
    second = bar.compare()
    assert second is not None and second.key != bar.model().key
    texts = ["the cat sat on the mat.", "the cat sat on the mat mat."]
    _score(qtbot, panel, "\n".join(texts))
    table = panel.sentences.table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["Sentence", "A Log-prob", "A Mean per token", "A Perplexity"] + [
        "B Log-prob",
        "B Mean per token",
        "B Perplexity",
    ]
    assert second.key in table.horizontalHeaderItem(4).toolTip()
    theirs = score_sentences(second.model, second.tokenizer, texts, "pll")
    assert _cells(table, 4) == [fmt.log_prob(s.log_prob) for s in theirs]
    a, b = panel.sentences.token_views
    assert b.isVisible() and second.key in b.title() and a.title() != b.title()
    assert [c.text() for c in b.chips] == [t.token for t in theirs[0].tokens]
    panel.tabs.setCurrentWidget(panel.pairs)  # only sentences are compared
    assert not bar.compare_combo.isVisible()


def test_no_language_model_says_what_to_load(qtbot, make_panel) -> None:
    panel = make_panel()
    assert "No model is loaded" in panel.models.note.text() and "minilm-mlm" in panel.models.note.text()
    panel = make_panel("encoder")
    note = panel.models.note.text()
    assert panel.models.note.isVisible() and "has a language-model head" in note and "tiny_encoder" in note
    assert panel.models.model_combo.count() == 0
    panel.sentences.runner.run_button.click()
    assert "Load a language model first" in panel.sentences.runner.status.text()


def test_method_and_sentences_are_remembered(qtbot, make_panel) -> None:
    panel = make_panel("mlm")
    panel.models.method_combo.setCurrentIndex(panel.models.method_combo.findData("pll-word"))
    _score(qtbot, panel, "the cat played with the dogs.")
    loaded = panel.models.model()
    expected = score_sentences(loaded.model, loaded.tokenizer, ["the cat played with the dogs."], "pll-word")
    assert _cells(panel.sentences.table, 1) == [fmt.log_prob(expected[0].log_prob)]
    again = ScorePanel(panel.state)
    qtbot.addWidget(again)
    assert again.models.method() == "pll-word"
    assert again.sentences.editor.toPlainText() == "the cat played with the dogs."


def test_minimal_pairs_summary_and_wrong_first(qtbot, make_panel, tmp_path: Path) -> None:
    panel = make_panel("mlm")
    tab = panel.pairs
    shipped = read_pairs(example_pairs_path())
    assert tab.source.text() == f"{len(shipped)} pairs from the example list"
    assert tab.table.rowCount() == len(shipped) and tab.table.item(0, 0).text() == shipped[0][0]
    path = tmp_path / "pairs.tsv"
    path.write_text(PAIRS_TSV, encoding="utf-8")
    tab.load(path)
    assert tab.source.text() == "4 pairs from pairs.tsv" and tab.table.rowCount() == 4
    assert _cells(tab.table, 0)[0] == "the cat sat on the mat." and tab.table.item(0, 2) is None
    panel.tabs.setCurrentWidget(tab)
    with qtbot.waitSignal(tab.scored, timeout=WAIT_MS):
        tab.runner.run_button.click()
    loaded = panel.models.model()
    expected = score_pairs(loaded.model, loaded.tokenizer, read_pairs(path), "pll")
    right = expected.preferred_first
    assert tab.summary.text().startswith(f"{right} of 4 preferred the acceptable sentence (")
    assert f"({expected.accuracy * 100:.0f} %)" in tab.summary.text()
    assert _cells(tab.table, 5).count("✓") == right
    assert _cells(tab.table, 4) == [fmt.log_prob(r.margin) for r in expected.rows]
    tab.wrong_button.click()
    margins = [r.margin for r in sorted(expected.rows, key=lambda r: r.margin)]
    assert _cells(tab.table, 4) == [fmt.log_prob(m) for m in margins]
    wrong = expected.wrong()
    assert _cells(tab.table, 5)[: len(wrong)] == ["✗"] * len(wrong)
    if wrong:
        assert tab.table.item(0, 0).text() == wrong[0].acceptable
    # A file without two columns is refused with its line number; the list on screen stays.
    bad = tmp_path / "bad.tsv"
    bad.write_text("only one column here\n", encoding="utf-8")
    tab.load(bad)
    assert "line 1" in tab.runner.status.text() and tab.table.rowCount() == 4


def test_crows_pairs_metric_types_and_filter(qtbot, make_panel, tmp_path: Path) -> None:
    panel = make_panel("mlm")
    view = panel.bias.crows
    path = tmp_path / "crows.csv"
    path.write_text(CROWS_CSV, encoding="utf-8")
    view.load(path)
    assert view.source.text() == "Pairs: 5 from crows.csv"
    panel.tabs.setCurrentWidget(panel.bias)
    assert view.note.isVisible() and "Blodgett" in view.note.text() and "CC BY-SA 4.0" in view.note.text()
    assert "Nangia" in view.note.text()
    with qtbot.waitSignal(view.finished, timeout=WAIT_MS):
        view.runner.run_button.click()
    loaded = panel.models.model()
    expected = crows_metric(loaded.model, loaded.tokenizer, read_crows_pairs(path))
    text = view.metric.text()
    assert (
        f"Metric {expected.metric:.1f}" in text and "50 is ideal; BERT-base 60.5, RoBERTa-large 64.1" in text
    )
    types = view.type_table
    assert _cells(types, 0) == ["all types", "gender", "age"]
    by_type = expected.by_type()
    assert _cells(types, 1) == [f"{expected.metric:.1f}"] + [
        f"{by_type[k]['metric']:.1f}" for k in ("gender", "age")
    ]
    assert _cells(types, 2) == ["5", "3", "2"]
    assert view.pair_table.rowCount() == 5  # all types selected at first
    types.selectRow(2)
    assert _cells(view.pair_table, 0) == ["the old man was sad.", "the old woman could not walk."]
    ages = [r for r in expected.rows if r.pair.bias_type == "age"]
    assert _cells(view.pair_table, 2) == [fmt.log_prob(r.more_score) for r in ages]
    assert _cells(view.pair_table, 5) == ["yes" if r.stereotyped else "no" for r in ages]


def test_crows_pairs_cancel_stops_and_shows_nothing(qtbot, make_panel) -> None:
    panel = make_panel("mlm")
    view = panel.bias.crows
    panel.tabs.setCurrentWidget(panel.bias)
    view.runner.run_button.click()  # the shipped file: 1,508 pairs
    assert "1,508 pairs" in view.source.text()
    assert not view.runner.run_button.isEnabled() and view.runner.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: view.runner.progress.value() > 0, timeout=WAIT_MS)
    qtbot.mouseClick(view.runner.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.runner.run_button.isEnabled(), timeout=WAIT_MS)
    assert view.runner.status.text() == "Cancelled."
    assert not view.runner.cancel_button.isEnabled()
    assert view.metric.text() == "" and view.type_table.rowCount() == 0 and view.pair_table.rowCount() == 0
    assert view.runner.progress.value() < 1000


def test_template_probe_table(qtbot, make_panel) -> None:
    panel = make_panel("mlm")
    view = panel.bias.template
    panel.tabs.setCurrentWidget(panel.bias)
    panel.bias.setCurrentWidget(view)
    view.template_edit.setText("[MASK] drank the {coffee}.")
    view.targets_edit.setText("male: he, man; female: she")
    with qtbot.waitSignal(view.finished, timeout=WAIT_MS):
        qtbot.keyClick(view.targets_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    loaded = panel.models.model()
    expected = template_probe(
        loaded.model,
        loaded.tokenizer,
        "[MASK] drank the {coffee}.",
        {"male": ["he", "man"], "female": ["she"]},
    )
    table = view.table
    assert _cells(table, 0) == ["he", "man", "she"] and _cells(table, 1) == ["male", "male", "female"]
    assert _cells(table, 2) == [fmt.percent(p.prob) for p in expected]
    assert _cells(table, 3) == [fmt.percent(p.prior) for p in expected]
    assert _cells(table, 4) == [fmt.log_ratio(p.log_ratio) for p in expected]
    assert all(math.isclose(p.log_ratio, math.log(p.prob / p.prior), rel_tol=1e-6) for p in expected)
    male = (expected[0].log_ratio + expected[1].log_ratio) / 2
    assert f"male {fmt.log_ratio(male)}" in view.groups.text() and "'coffee'" in view.groups.text()
    assert panel.state.settings.value("score/targets") == "male: he, man; female: she"
    view.targets_edit.setText("male:")
    view.runner.run_button.click()
    assert "group:word" in view.runner.status.text()


def test_an_encoder_decoder_scores_given_the_source_it_is_shown(qtbot, make_panel, tiny_decoder) -> None:
    panel = make_panel("mlm")
    assert panel.sentences.source.isHidden()  # a masked LM reads no source
    panel.state.registry.load(str(tiny_decoder("t5")), duplicate="copy")
    panel.models.refresh()  # as the Models tab's models_changed does
    t5 = next(m for m in panel.state.registry.models() if m.family == "seq2seq")
    panel.models.model_combo.setCurrentIndex(panel.models.model_combo.findData(t5.key))
    assert panel.models.method() == "conditional" and not panel.sentences.source.isHidden()
    panel.sentences.source.setText("the dog ran")
    _score(qtbot, panel, "the cat sat")
    expected = score_sentences(t5.model, t5.tokenizer, ["the cat sat"], source="the dog ran")[0]
    assert _cells(panel.sentences.table, 1) == [fmt.log_prob(expected.log_prob)]
