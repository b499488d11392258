"""Question-answering readers: SQuAD JSON v1.1/v2.0, SQuAD-layout JSON Lines, tables; broken files refused by row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.qa.data import Answer, read_qa, split_by_context

PARIS = "Paris is the capital of France. The Seine runs through Paris."
ROME = "Rome is the capital of Italy."

SQUAD_V2 = {
    "version": "v2.0",
    "data": [
        {
            "title": "France",
            "paragraphs": [
                {
                    "context": PARIS,
                    "qas": [
                        {
                            "id": "q1",
                            "question": "What is the capital of France?",
                            "answers": [
                                {"text": "Paris", "answer_start": 0},
                                {"text": "Paris", "answer_start": 55},
                            ],
                            "is_impossible": False,
                        },
                        {
                            "id": "q2",
                            "question": "What is the capital of Spain?",
                            "answers": [],
                            "plausible_answers": [{"text": "Paris", "answer_start": 0}],
                            "is_impossible": True,
                        },
                    ],
                }
            ],
        },
        {
            "title": "Italy",
            "paragraphs": [
                {
                    "context": ROME,
                    "qas": [
                        {
                            "id": "q3",
                            "question": "Which river?",
                            "answers": [{"text": "Italy", "answer_start": 23}],
                        }
                    ],
                }
            ],
        },
    ],
}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_squad_v2_json_with_unanswerable_questions(tmp_path):
    data = read_qa(write(tmp_path / "train.json", json.dumps(SQUAD_V2)))
    assert [e.id for e in data.examples] == ["q1", "q2", "q3"]
    q1, q2, q3 = data.examples
    assert q1.context == PARIS and q1.answers == [Answer("Paris", 0), Answer("Paris", 55)]
    assert PARIS[55:60] == "Paris"
    assert q2.answers == [] and data.unanswerable == 1  # plausible answers are not answers
    assert q3.answers == [Answer("Italy", 23)] and ROME[23:28] == "Italy"
    assert data.has_answers and data.problems == []
    assert q3.where == "article 2, paragraph 1, question 1"


def test_squad_answer_start_that_points_elsewhere_is_repaired_to_the_nearest_occurrence(tmp_path):
    broken = json.loads(json.dumps(SQUAD_V2))
    broken["data"][0]["paragraphs"][0]["qas"][0]["answers"] = [{"text": "Paris", "answer_start": 50}]
    data = read_qa(write(tmp_path / "train.json", json.dumps(broken)))
    assert data.examples[0].answers == [Answer("Paris", 55)]  # 55 is nearer to 50 than 0 is
    assert data.problems == [
        "1 answer_start value(s) did not point at their answer; the nearest occurrence was used"
    ]


def test_squad_answer_not_in_its_context_names_the_question(tmp_path):
    broken = json.loads(json.dumps(SQUAD_V2))
    broken["data"][1]["paragraphs"][0]["qas"][0]["answers"] = [{"text": "Venice", "answer_start": 0}]
    with pytest.raises(DataError) as info:
        read_qa(write(tmp_path / "train.json", json.dumps(broken)))
    assert str(info.value) == (
        "train.json, article 2, paragraph 1, question 1: the answer 'Venice' is not in its context; "
        "correct the answer or the context"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"version": "1.1"}', 'has no "data" list of articles'),
        ('{"data": [{"title": "x"}]}', 'article 1: has no "paragraphs" list'),
        (
            '{"data": [{"paragraphs": [{"context": "a b", "qas": [{"id": "1"}]}]}]}',
            "question is missing or empty",
        ),
        ('{"data": [{"paragraphs": [{"qas": []}]}]}', "article 1, paragraph 1: the context is missing"),
        ('{"data": []}', "holds no questions"),
        ("[1, 2", "is not valid JSON"),
        ("", "is empty"),
    ],
    ids=["no-data", "no-paragraphs", "no-question", "no-context", "no-questions", "bad-json", "empty"],
)
def test_broken_squad_json_is_refused_in_one_line(tmp_path, content, message):
    with pytest.raises(DataError) as info:
        read_qa(write(tmp_path / "broken.json", content))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_jsonl_in_the_hugging_face_layout(tmp_path):
    lines = [
        {
            "id": "a",
            "question": "capital?",
            "context": PARIS,
            "answers": {"text": ["Paris"], "answer_start": [0]},
        },
        {
            "id": "b",
            "question": "river?",
            "context": PARIS,
            "answers": {"text": ["The Seine"]},
        },  # start found
        {"id": "c", "question": "king?", "context": ROME, "answers": {"text": [], "answer_start": []}},
        {"question": "country?", "context": ROME, "answer": "Italy"},  # a flat record, no id
    ]
    path = write(tmp_path / "qa.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n\n")
    data = read_qa(path)
    a, b, c, d = data.examples
    assert a.answers == [Answer("Paris", 0)]
    assert b.answers == [Answer("The Seine", PARIS.index("The Seine"))] and b.answers[0].start == 32
    assert c.answers == [] and d.answers == [Answer("Italy", 23)]
    assert d.id == "line 4" and d.where == "line 4"


def test_jsonl_answer_start_missing_means_the_first_occurrence(tmp_path):
    line = {"id": "x", "question": "which city?", "context": PARIS, "answers": {"text": ["Paris"]}}
    data = read_qa(write(tmp_path / "qa.jsonl", json.dumps(line)))
    assert data.examples[0].answers == [Answer("Paris", 0)]


@pytest.mark.parametrize(
    ("line2", "message"),
    [
        ("not json", "qa.jsonl, line 2: is not valid JSON"),
        ('["a list"]', "qa.jsonl, line 2: is not a JSON object"),
        (
            '{"question": "q", "context": "ctx", "answers": {"text": ["x", "y"], "answer_start": [0]}}',
            "2 answer texts but 1",
        ),
        (
            '{"question": "q", "context": "the cat", "answers": {"text": ["dog"]}}',
            "line 2: the answer 'dog' is not in",
        ),
        (
            '{"question": "q", "context": "the cat", "answers": {"text": ["cat"], "answer_start": [-1]}}',
            "negative",
        ),
        ('{"question": "q", "context": "the cat", "answers": {"text": [""]}}', "an answer is empty"),
        ('{"question": "", "context": "the cat"}', "line 2: the question is missing or empty"),
        ('{"question": "q", "context": "the cat", "answers": 3}', '"answers" is int'),
    ],
    ids=[
        "not-json",
        "not-object",
        "ragged",
        "not-in-context",
        "negative",
        "empty-answer",
        "no-question",
        "bad-type",
    ],
)
def test_broken_jsonl_names_the_line(tmp_path, line2, message):
    good = json.dumps(
        {"question": "q", "context": "the cat", "answers": {"text": ["cat"], "answer_start": [4]}}
    )
    with pytest.raises(DataError) as info:
        read_qa(write(tmp_path / "qa.jsonl", good + "\n" + line2 + "\n"))
    assert message in str(info.value)


def test_a_file_without_answers_is_for_prediction(tmp_path):
    line = {"id": "x", "question": "which city?", "context": PARIS}
    data = read_qa(write(tmp_path / "ask.jsonl", json.dumps(line)))
    assert data.examples[0].answers is None and not data.has_answers


def test_csv_table_finds_answer_start_and_empty_answers_are_unanswerable(tmp_path):
    path = write(
        tmp_path / "qa.csv",
        'question,context,answer\n"Where is it?","the cat sat on the mat, the mat",mat\nWho?,the cat,\n',
    )
    data = read_qa(path)
    first, second = data.examples
    assert first.answers == [Answer("mat", 19)] and first.context[19:22] == "mat"
    assert second.answers == [] and first.where == "row 1" and second.id == "row 2"


def test_tsv_table_keeps_a_given_answer_start_and_id(tmp_path):
    path = write(
        tmp_path / "qa.tsv", "id\tquestion\tcontext\tanswer\tanswer_start\nk1\tq\tmat mat mat\tmat\t4\n"
    )
    data = read_qa(path)
    assert data.examples[0].id == "k1" and data.examples[0].answers == [Answer("mat", 4)]


def test_xlsx_and_json_array_tables(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"question": ["capital?"], "context": [PARIS], "answer": ["France"]})
    frame.to_excel(tmp_path / "qa.xlsx", index=False)
    assert read_qa(tmp_path / "qa.xlsx").examples[0].answers == [Answer("France", 24)]
    write(tmp_path / "qa.json", json.dumps([{"question": "capital?", "context": ROME, "answer": "Rome"}]))
    assert read_qa(tmp_path / "qa.json").examples[0].answers == [Answer("Rome", 0)]


def test_broken_tables_name_the_row_or_the_columns(tmp_path):
    path = write(tmp_path / "qa.csv", "question,context,answer\nq,the cat,cat\nq,the cat,dog\n")
    with pytest.raises(DataError) as info:
        read_qa(path)
    assert str(info.value).startswith("qa.csv, row 2: the answer 'dog' is not in its context")
    path = write(tmp_path / "cols.csv", "q,passage,answer\nq,the cat,cat\n")
    with pytest.raises(DataError) as info:
        read_qa(path)
    assert "no column 'question'; its columns are: q, passage, answer" in str(info.value)
    path = write(tmp_path / "start.csv", "question,context,answer,answer_start\nq,the cat,cat,four\n")
    with pytest.raises(DataError, match="row 1: answer_start 'four' is not a whole number"):
        read_qa(path)


def test_split_keeps_every_question_of_a_context_on_one_side(tmp_path):
    lines = [
        {
            "id": f"{c}-{q}",
            "question": f"q{q}",
            "context": f"context {c} the cat",
            "answers": {"text": ["cat"]},
        }
        for c in range(10)
        for q in range(3)
    ]
    data = read_qa(write(tmp_path / "qa.jsonl", "\n".join(json.dumps(x) for x in lines)))
    train, val = split_by_context(data, 0.2, seed=1)
    assert len(val) == 6 and len(train) == 24
    assert not {e.context for e in train} & {e.context for e in val}
    assert split_by_context(data, 0.2, seed=1) == (train, val)  # seeded
    one = read_qa(write(tmp_path / "one.jsonl", "\n".join(json.dumps(x) for x in lines[:3])))
    train, val = split_by_context(one, 0.3, seed=0)  # one context: the questions are split
    assert (len(train), len(val)) == (2, 1)
    single = read_qa(write(tmp_path / "single.jsonl", json.dumps(lines[0])))
    with pytest.raises(DataError, match="too few"):
        split_by_context(single, 0.2, seed=0)
