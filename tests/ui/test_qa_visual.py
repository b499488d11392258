"""Question-answering views as a person sees them at 1024x700, light and dark: the wizard's data page, a
run's results (a wrong answer with both answers marked) and "Try it" with the answer marked in its passage.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

import json

import pytest
from task_helpers import choose_task, qa_rows
from visual import assert_not_clipped, screenshot, settle

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.panel import dialog_class
from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard
from lmstudio_app.ui.plot_theme import contrast
from lmstudio_app.ui.taskviews.colours import ANSWER, EXPECTED, mark_colour, text_colour
from lmstudio_app.ui.theme import apply_theme

SIZE = (1024, 700)
PASSAGE = (
    "On a sunny day the house on the road was quiet. Then the old dog is green on the mat, said the man, "
    "and the cup is red on the table."
)


@pytest.fixture(params=["light", "dark"])
def theme(request):
    apply_theme(request.param)
    yield request.param
    apply_theme("light")


def test_data_page(qtbot, tmp_path, theme):
    rows = qa_rows(40, 3)
    rows[5]["answers"] = {"text": ["purple"], "answer_start": [0]}  # not in its passage: named by line
    data = tmp_path / "questions.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    wizard = FineTuneWizard(AppState())
    qtbot.addWidget(wizard)
    wizard.resize(*SIZE)
    wizard.show()
    choose_task(qtbot, wizard, "qa")
    page = wizard.qa.data_page
    page.open_file(data)
    qtbot.waitUntil(lambda: not page.loading, timeout=60_000)
    answered = next(i for i, e in enumerate(page.ctx.data.examples) if e.answers)
    page.questions.selectRow(answered)
    settle(qtbot)
    screenshot(wizard, f"qa-data-{theme}-1024x700")
    assert_not_clipped(wizard)
    assert "line 6: the answer 'purple' is not in its context" in page.problems.toPlainText()
    assert len(page.passage.marked_texts()) == 1


@pytest.fixture
def dialog(qtbot, qa_run):
    dialog = dialog_class("qa")(AppState(), qa_run)
    qtbot.addWidget(dialog)
    dialog.resize(*SIZE)
    dialog.show()
    dialog.open_results()
    qtbot.waitUntil(lambda: dialog.stack.currentWidget() is dialog.results_view, timeout=20_000)
    return dialog


def test_results(qtbot, theme, dialog):
    settle(qtbot)
    screenshot(dialog, f"qa-results-{theme}-1024x700")
    assert_not_clipped(dialog)
    for hue in (ANSWER, EXPECTED):  # marked text stays readable (WCAG AA)
        assert contrast(text_colour().name(), mark_colour(hue).name()) >= 4.5, (theme, hue)


def test_try_it(qtbot, theme, dialog, tmp_path):
    tried = dialog.results_view.try_view
    dialog.results_view.tabs.setCurrentWidget(tried)
    tried.question.setText("the cup")
    tried.passage.setPlainText(PASSAGE)
    tried.answer()
    qtbot.waitUntil(lambda: tried.decoded is not None, timeout=30_000)
    tried.batch.set_input(tmp_path / "dev.json")
    settle(qtbot)
    screenshot(dialog, f"qa-try-{theme}-1024x700")
    assert_not_clipped(dialog)
    best = tried.decoded.best
    assert tried.passage.marked_texts() == [PASSAGE[best.start : best.end]]


def test_every_page_of_the_word_tags_and_qa_paths_fits_a_1024x700_screen(qtbot):
    from test_small_screen import fits

    wizard = FineTuneWizard(AppState())
    qtbot.addWidget(wizard)
    for task in ("tokens", "qa"):
        for page in getattr(wizard, task).pages:
            assert fits(page.minimumSizeHint()), (task, type(page).__name__, page.minimumSizeHint())
    assert {*range(100, 105), *range(200, 205)} <= set(wizard.pageIds())
