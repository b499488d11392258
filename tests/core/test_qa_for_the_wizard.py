"""What the wizard's question-answering pages ask of the core: every answer missing from its passage listed
at once (keep_going), question + passage lengths, and a cancelled run resumed from its settings alone (the
data file, a validation file, a table's own column names)."""

from __future__ import annotations

import json

import pytest

from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.qa.data import Columns, read_qa


def test_keep_going_lists_every_answer_that_is_not_in_its_passage(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(
        "question,context,answer\nwho,Ann wrote it,Ann\nwhat,the cat,dog\nwhy,x y,\nwho,Tom came,Jerry\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="row 2: the answer 'dog' is not in its context"):
        read_qa(path)
    data = read_qa(path, keep_going=True)
    assert len(data) == 2 and data.unanswerable == 1 and data.error_count == 2
    assert ["row 2" in data.errors[0], "row 4" in data.errors[1]] == [True, True]
    lines = tmp_path / "q.jsonl"
    lines.write_text(
        json.dumps({"question": "q", "context": "c d", "answer": "e"}) + "\n{bad\n", encoding="utf-8"
    )
    data = read_qa(lines, keep_going=True)
    assert len(data) == 0 and [e.split(": ")[0] for e in data.errors] == [
        "q.jsonl, line 1",
        "q.jsonl, line 2",
    ]


def test_question_and_passage_lengths_and_the_window_suggested(tiny_model, tmp_path):
    from lmstudio_app.core.qa.data import Answer, QAExample
    from lmstudio_app.core.qa.lengths import measure_pairs

    examples = [
        QAExample("1", "the cat", "the cat is red", [Answer("red", 11)]),
        QAExample("2", "the dog", "the dog is " + "big " * 100, [Answer("big", 11)]),
    ]
    lengths, suggested = measure_pairs(str(tiny_model("encoder")), examples)
    assert lengths == [9, 108] and suggested == 112  # all short: the longest, rounded up to 16
    _, long = measure_pairs(str(tiny_model("encoder")), [*examples, QAExample("3", "x", "a " * 400, [])])
    assert long == 128  # 384 is the usual window, but this model has 128 positions


def test_a_cancelled_run_resumes_from_its_settings_with_a_validation_table(tmp_path, tiny_model):
    from lmstudio_app.core.qa.job import train_qa
    from lmstudio_app.core.qa.plan import build_split, resume_qa
    from lmstudio_app.core.qa.settings import QAResult, QASettings
    from lmstudio_app.core.tasks import Cancelled, TaskState

    rows = "q,passage,gold\n" + "".join(
        f"the {n},{'a' if i % 2 else 'the'} {n} is {c} today,{c}\n"
        for i, (n, c) in enumerate(
            (n, c) for n in ("cat", "dog", "cup") for c in ("red", "blue", "old", "new")
        )
    )
    train_file, val_file = tmp_path / "train.csv", tmp_path / "val.csv"
    train_file.write_text(rows, encoding="utf-8")
    val_file.write_text(
        "q,passage,gold\nthe car,the car is green,green\nthe bed,a bed is old,old\n", encoding="utf-8"
    )
    columns = {"question": "q", "context": "passage", "answer": "gold", "answer_start": "", "id": ""}
    settings = QASettings(
        base_model=str(tiny_model("encoder")), max_length=32, stride=8, batch_size=4, max_steps=4, eval_steps=2,
        patience=0, precision="fp32", data=str(train_file), val_data=str(val_file), columns=columns,
    )  # fmt: skip
    train, val = build_split(settings)
    assert len(train) == 12 and [e.answers[0].text for e in val] == ["green", "old"]
    assert train[0].question == read_qa(train_file, Columns(**columns)).examples[0].question
    state = TaskState()
    run = tmp_path / "run"
    with pytest.raises(Cancelled):
        train_qa(
            train, val, settings, run, state=state,
            on_event=lambda e: state.request_stop() if e["type"] == "log" and e["step"] == 2 else None,
        )  # fmt: skip
    result = resume_qa(run)
    assert isinstance(result, QAResult) and result.metrics["global_step"] == 4
    assert result.metrics["val_rows"] == 2 and (result.model_dir / "qa.json").is_file()
    with pytest.raises(Exception, match="cannot be resumed"):
        resume_qa(tmp_path)
