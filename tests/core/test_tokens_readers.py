"""Readers of tagged sentences (CoNLL, JSONL token lists, JSONL spans) on hand-written files, broken
ones included: what they read, and the line each refusal names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.tokens.conll import read_conll_words
from lmstudio_app.core.tokens.data import split_sentences
from lmstudio_app.core.tokens.files import TokenDataPlan, read_tagged
from lmstudio_app.core.tokens.scheme import entities, entity_scheme, spans_to_bio


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(tmp_path: Path, rows: list, name: str = "data.jsonl") -> Path:
    return write(tmp_path, name, "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


CONLL_2003 = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

"""


def test_conll_with_spaces_skips_docstart_and_takes_the_last_column(tmp_path):
    data = read_tagged(write(tmp_path, "train.txt", CONLL_2003))
    assert data.sentences == [["EU", "rejects", "German", "call", "."], ["Peter", "Blackburn"]]
    assert data.tags == [["B-ORG", "O", "B-MISC", "O", "O"], ["B-PER", "I-PER"]]
    assert data.lines == [3, 9] and data.format == "conll"
    assert data.tag_counts()["O"] == 3 and data.words() == 7


def test_conll_with_tabs_keeps_spaces_inside_a_token(tmp_path):
    text = "New York\tB-LOC\nis\tO\n\n\n\nfine\tO\r\n"
    data = read_tagged(write(tmp_path, "a.conll", text))
    assert data.sentences == [["New York", "is"], ["fine"]]
    assert data.tags == [["B-LOC", "O"], ["O"]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("EU NNP B-ORG\nrejects VBZ O\ncall O\n", "a.conll line 3: 2 columns where line 1 has 3 columns"),
        ("EU B-ORG\nrejects\n\nok O\n", "a.conll line 2: a token without a tag where line 1 has 2 columns"),
        ("EU\nrejects\n", "a.conll line 1: a token without a tag"),
        ("-DOCSTART- O\n\n\n", "a.conll has no token lines"),
        ("EU\tB-ORG\nrejects\t\n", "a.conll line 2: an empty token or tag"),
    ],
    ids=["ragged", "untagged", "one-column", "only-docstart", "empty-tag"],
)
def test_conll_refusals_name_the_line(tmp_path, text, message):
    with pytest.raises(DataError) as caught:
        read_tagged(write(tmp_path, "a.conll", text))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_file_level_refusals(tmp_path):
    with pytest.raises(DataError, match="empty"):
        read_tagged(write(tmp_path, "e.conll", "\n \n"))
    with pytest.raises(DataError, match="not found"):
        read_tagged(tmp_path / "missing.conll")
    bad = tmp_path / "latin.conll"
    bad.write_bytes("ok O\n\ncaf\xe9 O\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin.conll line 3: not UTF-8"):
        read_tagged(bad)


def test_conll_words_for_prediction_ignore_extra_columns(tmp_path):
    path = write(tmp_path, "in.conll", CONLL_2003.replace("Peter NNP B-NP B-PER", "Peter"))
    assert read_conll_words(path) == [["EU", "rejects", "German", "call", "."], ["Peter", "Blackburn"]]


def test_jsonl_token_lists_with_names_and_with_integer_tags(tmp_path):
    path = jsonl(
        tmp_path,
        [
            {"tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"]},
            "",
            {"tokens": ["Peter"], "ner_tags": ["B-PER"]},
        ],
    )
    data = read_tagged(path)
    assert data.sentences == [["EU", "rejects"], ["Peter"]] and data.tags == [["B-ORG", "O"], ["B-PER"]]
    assert data.lines == [1, 3] and data.format == "jsonl-tokens"
    numbered = jsonl(tmp_path, [{"id": "0", "tokens": ["EU", "rejects"], "ner_tags": [3, 0]}], "n.jsonl")
    names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]
    assert read_tagged(numbered, names).tags == [["B-ORG", "O"]]
    with pytest.raises(DataError, match=r"n.jsonl line 1: the tags are numbers; give the tag names"):
        read_tagged(numbered)
    with pytest.raises(DataError, match=r"line 1: tag 3 has no name \(the 2 names cover 0-1\)"):
        read_tagged(numbered, ["O", "B-PER"])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [{"tokens": ["a"], "tags": ["O"]}, {"tokens": ["a", "b"], "tags": ["O"]}],
            "line 2: 2 tokens but 1 tags",
        ),
        ([{"tokens": ["a"], "tags": ["O"]}, {"tokens": ["a", "b"]}], "line 2: tokens without tags"),
        ([{"tokens": ["a"], "tags": ["O"]}, "{not json"], "line 2: not valid JSON"),
        ([[1, 2]], "line 1: not a JSON object"),
        ([{"words": ["a"]}], 'line 1: no "tokens" and no "text"'),
        ([{"tokens": ["a"], "tags": [True]}], "line 1: tags must be names or whole numbers"),
        (
            [{"tokens": ["a"], "tags": ["O"]}, {"text": "a", "spans": []}],
            "line 2: mixes token lists and texts",
        ),
        (
            [{"text": "Paris", "spans": [[0, 9, "LOC"]]}],
            "line 1: span 0-9 is outside the text (5 characters)",
        ),
        ([{"text": "Paris", "spans": [[0, 5]]}], "line 1: span [0, 5] is not [start, end, label]"),
        ([{"text": "Paris", "label": ["positive"]}], 'line 1: span "positive" is not [start, end, label]'),
    ],
    ids=[
        "lengths",
        "no-tags",
        "bad-json",
        "not-object",
        "no-keys",
        "bool-tag",
        "mixed",
        "outside",
        "short",
        "doc-label",
    ],
)
def test_jsonl_refusals_name_the_line(tmp_path, rows, message):
    with pytest.raises(DataError) as caught:
        read_tagged(jsonl(tmp_path, rows))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_doccano_spans_become_bio_over_words(tmp_path):
    text = "Angela Merkel visited New York's harbour."
    rows = [
        {"text": text, "label": [[0, 13, "PER"], [22, 30, "LOC"]]},  # doccano's export
        {"text": "Paris is big", "spans": [{"start": 0, "end": 5, "label": "LOC"}]},
        {"text": "Berlin", "entities": [{"start_offset": 0, "end_offset": 6, "label": "LOC"}]},
        {"text": "nothing here", "label": []},
    ]
    data = read_tagged(jsonl(tmp_path, rows))
    assert data.format == "jsonl-spans"
    assert data.sentences[0] == ["Angela", "Merkel", "visited", "New", "York's", "harbour", "."]
    # "York" ends inside the word "York's": the whole word is tagged, and the cut is noted
    assert data.tags[0] == ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "O"]
    assert data.tags[1:] == [["B-LOC", "O", "O"], ["B-LOC"], ["O", "O"]]
    assert data.problems == ["line 1: span 22-30 LOC ('New York') cuts a word: the whole word is tagged"]


def test_overlapping_and_empty_spans_are_left_out_and_noted():
    words, tags, notes = spans_to_bio("a big cat", [(2, 9, "ANI"), (6, 9, "CAT"), (1, 2, "X")])
    assert words == ["a", "big", "cat"] and tags == ["O", "B-ANI", "I-ANI"]
    assert notes == [
        "span 1-2 X (' ') covers no word: left out",
        "span 6-9 CAT ('cat') overlaps another span: left out",
    ]


def test_schemes_and_entities():
    assert entity_scheme(["O", "B-PER", "I-PER"]) == "IOB2"
    assert entity_scheme(["O", "S-PER", "B-LOC", "E-LOC"]) == "BIOES"
    assert entity_scheme(["NOUN", "VERB", "DET"]) is None
    assert entity_scheme(["O", "I-PER"]) is None  # IOB1 without a B-: no entity metrics
    assert entity_scheme(["O"]) is None
    tags = ["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "B-LOC", "I-ORG", "S-X", "B-Y", "E-Y", "I-Y"]
    assert entities(tags) == [
        ("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 5), ("LOC", 5, 6), ("ORG", 6, 7), ("X", 7, 8), ("Y", 8, 10),
        ("Y", 10, 11),
    ]  # fmt: skip


def test_split_is_seeded_by_sentence_and_the_plan_reads_it_again(tmp_path):
    rows = [{"tokens": [f"w{i}", "x"], "tags": ["O", f"T{i % 3}"]} for i in range(10)]
    path = jsonl(tmp_path, rows)
    data = read_tagged(path)
    train, val = split_sentences(data, 0.3, seed=1)
    assert len(train) == 7 and len(val) == 3
    assert sorted(s[0] for s in train.sentences + val.sentences) == sorted(f"w{i}" for i in range(10))
    again = TokenDataPlan.from_dict(TokenDataPlan(str(path), None, 0.3, 1).to_dict()).build()
    assert again[1].sentences == val.sentences and again[0].tags == train.tags
