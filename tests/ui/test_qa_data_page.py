"""The question-answering Data page on hand-written files: a table's columns guessed and chosen, every answer
that is not in its passage named by row at once (Next off), SQuAD JSON with unanswerable questions, and a
file without answers explained."""

from __future__ import annotations

import json

import pytest
from task_helpers import choose_task
from wizard_helpers import next_enabled

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard


@pytest.fixture
def page(qtbot):
    wizard = FineTuneWizard(AppState())
    qtbot.addWidget(wizard)
    wizard.show()
    choose_task(qtbot, wizard, "qa")
    page = wizard.qa.data_page
    page.wizard_ = wizard
    return page


def open_and_wait(qtbot, page, path) -> None:
    page.open_file(path)
    qtbot.waitUntil(lambda: not page.loading, timeout=60_000)


def test_a_table_with_answers_not_in_their_passage_lists_every_row(qtbot, page, tmp_path):
    path = tmp_path / "qa.csv"
    path.write_text(
        "q,passage,gold\n"
        "who wrote it,It was written by Ann.,Ann\n"
        "where is the cat,The cat is on the mat.,the sofa\n"
        "what colour,The sky is blue.,\n"
        "who came,Tom came late.,Jerry\n",
        encoding="utf-8",
    )
    open_and_wait(qtbot, page, path)  # question and passage guessed from their names, the answer not
    assert page.form.isRowVisible(1)  # the columns row, for tables only
    assert [page.combos[r].currentText() for r in ("question", "context", "answer")] == [
        "q",
        "passage",
        "(none)",
    ]
    assert "Choose the column that holds the answers" in page.problems.toPlainText() and not page.isComplete()
    page.set_columns(answer="gold")
    qtbot.waitUntil(lambda: not page.loading, timeout=60_000)
    text = page.problems.toPlainText()
    assert "2 questions cannot be used" in text
    assert "qa.csv, row 2: the answer 'the sofa' is not in its context" in text
    assert "qa.csv, row 4: the answer 'Jerry' is not in its context" in text
    assert "<b>2 questions</b>" in page.detected.text() and "<b>1 unanswerable</b>" in page.detected.text()
    assert not page.isComplete() and not next_enabled(page.wizard_)
    path.write_text(
        "q,passage,gold\nwho wrote it,It was written by Ann.,Ann\nwhat colour,The sky is blue.,\n"
        "who came,Tom came late.,Tom\n",
        encoding="utf-8",
    )
    page.reload(guess=False)  # the columns chosen are kept
    qtbot.waitUntil(lambda: not page.loading, timeout=60_000)
    assert page.isComplete(), page.problems.toPlainText()
    assert page.ctx.columns["question"] == "q" and page.ctx.columns["context"] == "passage"
    page.questions.selectRow(2)
    assert page.passage.toPlainText() == "Tom came late." and page.passage.marked_texts() == ["Tom"]


def test_squad_json_with_unanswerable_questions_and_a_repaired_offset(qtbot, page, tmp_path):
    squad = {
        "data": [
            {
                "paragraphs": [
                    {
                        "context": "Ann wrote the letter. Ann lives in Paris.",
                        "qas": [
                            {
                                "id": "1",
                                "question": "Who lives in Paris?",
                                "answers": [{"text": "Ann", "answer_start": 3}],
                            },
                            {"id": "2", "question": "Who is Bob?", "answers": [], "is_impossible": True},
                        ],
                    },
                    {
                        "context": "The cat is black.",
                        "qas": [
                            {
                                "id": "3",
                                "question": "What colour?",
                                "answers": [{"text": "black", "answer_start": 11}],
                            }
                        ],
                    },
                ]
            }
        ]
    }
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(squad), encoding="utf-8")
    open_and_wait(qtbot, page, path)
    assert page.isComplete(), page.problems.toPlainText()
    assert "<b>3 questions</b> on 2 passages: 2 answerable, <b>1 unanswerable</b>" in page.detected.text()
    assert "Read as SQuAD JSON" in page.detected.text() and page.form.isRowVisible(1) is False
    assert "1 answer_start value(s) did not point at their answer" in page.problems.toPlainText()
    assert [page.questions.item(r, 2).text() for r in range(3)] == ["Ann", "(no answer)", "black"]


def test_questions_without_answers_cannot_train(qtbot, page, tmp_path):
    path = tmp_path / "ask.jsonl"
    path.write_text(
        json.dumps({"question": "who?", "context": "Ann did."})
        + "\n"
        + json.dumps({"question": "what?", "context": "x"})
        + "\n",
        encoding="utf-8",
    )
    open_and_wait(qtbot, page, path)
    assert "without an answer" in page.detected.text()
    assert (
        "training needs an answer for every question" in page.problems.toPlainText() and not page.isComplete()
    )
    table = tmp_path / "odd.csv"
    table.write_text("a,b,c\nx,y,z\n", encoding="utf-8")
    open_and_wait(qtbot, page, table)
    assert "Choose the column that holds the question and the passage" in page.problems.toPlainText()
    assert page.combos["question"].count() == 3 and page.combos["answer"].count() == 4
