"""Word-tag views as a person sees them at 1024x700, light and dark: the wizard's data page, a run's results
(scores and the confusion between tags) and "Try it" with a tagged text. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import json

import pytest
from task_helpers import choose_task, write_rule_conll
from visual import assert_not_clipped, assert_plot_readable, screenshot, settle

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.panel import dialog_class
from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard
from lmstudio_app.ui.plot_theme import contrast
from lmstudio_app.ui.taskviews.colours import span_colour, text_colour
from lmstudio_app.ui.theme import apply_theme

SIZE = (1024, 700)
TEXT = "The cats sat in Paris city with a dog, and London was far away."


@pytest.fixture(params=["light", "dark"])
def theme(request):
    apply_theme(request.param)
    yield request.param
    apply_theme("light")


def test_data_page(qtbot, tmp_path, theme):
    data = tmp_path / "ner.conll"
    write_rule_conll(data, sentences=60, long_at=3)
    with data.open("a", encoding="utf-8") as f:
        f.write("Berlin\tB-LOC\ncity\n\n")  # a token without a tag, named with its line
    wizard = FineTuneWizard(AppState())
    qtbot.addWidget(wizard)
    wizard.resize(*SIZE)
    wizard.show()
    choose_task(qtbot, wizard, "tokens")
    page = wizard.tokens.data_page
    page.open_file(data)
    qtbot.waitUntil(lambda: not page.loading, timeout=60_000)
    page.sentences.selectRow(1)
    settle(qtbot)
    screenshot(wizard, f"tokens-data-{theme}-1024x700")
    assert_not_clipped(wizard)
    assert "broken line" in page.problems.toPlainText() and "longer than 128" in page.problems.toPlainText()
    assert page.tokens.rowCount() > 0 and page.sentences.rowCount() == 60


@pytest.fixture
def dialog(qtbot, tagger_run):
    dialog = dialog_class("tokens")(AppState(), tagger_run)
    qtbot.addWidget(dialog)
    dialog.resize(*SIZE)
    dialog.show()
    dialog.open_results()
    qtbot.waitUntil(lambda: dialog.stack.currentWidget() is dialog.results_view, timeout=20_000)
    return dialog


def test_results(qtbot, theme, dialog):
    view = dialog.results_view
    settle(qtbot)
    screenshot(dialog, f"tokens-results-{theme}-1024x700")
    assert_not_clipped(dialog)
    view.tabs.setCurrentIndex(1)
    settle(qtbot, 300)
    screenshot(dialog, f"tokens-confusion-{theme}-1024x700")
    assert_plot_readable(view.heatmap)
    assert view.heatmap.colorbar.isVisible()


def test_try_it(qtbot, theme, dialog, tmp_path):
    view = dialog.results_view
    view.tabs.setCurrentWidget(view.try_view)
    view.try_view.input.setPlainText(TEXT)
    qtbot.waitUntil(lambda: view.try_view.last is not None, timeout=30_000)
    view.try_view.batch.set_input(tmp_path / "news.conll")
    settle(qtbot)
    screenshot(dialog, f"tokens-try-{theme}-1024x700")
    assert_not_clipped(dialog)
    assert view.try_view.text.chips, "no entity shown"
    for i in range(10):  # every type's colour keeps the text readable (WCAG AA)
        assert contrast(text_colour().name(), span_colour(i).name()) >= 4.5, (theme, i, span_colour(i).name())
    assert json.loads(json.dumps([c.label for c in view.try_view.text.chips]))
