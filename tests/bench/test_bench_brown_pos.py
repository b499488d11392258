"""The Brown POS benchmark's conversion (benchmarks/brown_pos.py, bench_pos_brown.py) on hand-written
inputs: the coarse tag map, the reader, the split by file, the baseline and the Trainer recipe's labels.
No npm, no network: the real corpus is only read by the benchmark itself."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_pos_brown  # noqa: E402
from brown_pos import (  # noqa: E402
    PREFIXES,
    UNIVERSAL,
    MostFrequentTag,
    coarse_tag,
    is_test_file,
    read_brown,
    sample,
    split_corpus,
    token_accuracy,
)

# (Brown tag, universal tag), each decided by hand from the Brown manual's description of the tag.
CASES = [
    ("nn", "NOUN"), ("nns-tl", "NOUN"), ("np$", "NOUN"), ("nr", "NOUN"), ("pn", "NOUN"), ("NN-TL-HL", "NOUN"),
    ("vb", "VERB"), ("vbg", "VERB"), ("bedz", "VERB"), ("hvd", "VERB"), ("doz", "VERB"), ("md*", "VERB"),
    ("jj", "ADJ"), ("jjt", "ADJ"), ("ap", "ADJ"), ("od", "ADJ"),
    ("rb", "ADV"), ("rbr", "ADV"), ("ql", "ADV"), ("wrb", "ADV"), ("abl", "ADV"), ("*", "ADV"), ("*-hl", "ADV"),
    ("pps", "PRON"), ("ppss", "PRON"), ("pp$", "PRON"), ("pp$$", "PRON"), ("wps", "PRON"), ("wpo", "PRON"),
    ("pps+bez", "PRON"), ("ppss+md", "PRON"),
    ("at", "DET"), ("dt", "DET"), ("dti", "DET"), ("wdt", "DET"), ("abn", "DET"), ("abx", "DET"), ("ex", "DET"),
    ("in", "ADP"), ("in-tl", "ADP"), ("cs", "ADP"),
    ("cd", "NUM"), ("cd-hl", "NUM"), ("cc", "CONJ"), ("rp", "PRT"), ("to", "PRT"),
    ("fw-nn", "X"), ("fw-in+at-tl", "X"), ("uh", "X"), ("nil", "X"),
    (".", "."), (",", "."), ("``", "."), ("''", "."), ("--", "."), ("(", "."), (":-hl", "."), ("---hl", "."),
]  # fmt: skip


@pytest.mark.parametrize(("brown", "universal"), CASES)
def test_coarse_tag_maps_brown_tags_onto_the_universal_tags(brown: str, universal: str) -> None:
    assert coarse_tag(brown) == universal


def test_every_rule_yields_a_universal_tag_and_unknown_tags_are_x() -> None:
    assert {u for _, u in PREFIXES} <= set(UNIVERSAL)
    assert coarse_tag("zz") == "X"


def test_read_brown_splits_lines_into_sentences_and_keeps_slashes_in_words() -> None:
    text = (
        "\n\n\tThe/at jury/nn said/vbd ./.\n\n\n"
        "\tIt's/pps+bez 1/2/cd done/vbn ,/, ``/`` not/* late/jj ''/'' ./.\n\n"
    )
    assert read_brown(text) == [
        (["The", "jury", "said", "."], ["DET", "NOUN", "VERB", "."]),
        (["It's", "1/2", "done", ",", "``", "not", "late", "''", "."],
         ["PRON", "NUM", "VERB", ".", ".", "ADV", "ADJ", ".", "."]),
    ]  # fmt: skip


def test_test_files_are_every_fifth_file_of_each_genre(tmp_path: Path) -> None:
    assert [n for n in ("ca01", "ca04", "ca05", "ca10", "cr05", "cr09") if is_test_file(n)] == [
        "ca05",
        "ca10",
        "cr05",
    ]
    assert not any(is_test_file(n) for n in ("README", "CONTENTS", "cats.txt", "ca5", "cz05"))
    for name, word in [("ca01", "one"), ("ca04", "four"), ("ca05", "five"), ("cb05", "bee"), ("cb06", "six")]:
        (tmp_path / name).write_text(f"\n\t{word}/cd ./.\n\n\tagain/rb ./.\n", encoding="utf-8")
    (tmp_path / "README").write_text("not/* a/at corpus/nn file/nn\n", encoding="utf-8")
    train, test = split_corpus(tmp_path)
    assert [s[0][0] for s in train] == ["one", "again", "four", "again", "six", "again"]
    assert [s[0][0] for s in test] == ["five", "again", "bee", "again"]


def test_sample_is_seeded_and_never_repeats() -> None:
    items = list(range(50))
    assert sample(items, 10, 3) == sample(items, 10, 3)
    assert len(set(sample(items, 10, 3))) == 10
    assert sorted(sample(items, 80, 3)) == items


def test_most_frequent_tag_baseline() -> None:
    train = [
        (["I", "run", "home"], ["PRON", "VERB", "NOUN"]),
        (["a", "run", "."], ["DET", "NOUN", "."]),
        (["they", "run", "fast"], ["PRON", "VERB", "ADV"]),
        (["The", "dog", "barks"], ["DET", "NOUN", "VERB"]),
        (["fast", "food"], ["ADJ", "NOUN"]),
    ]
    tagger = MostFrequentTag(train)
    # run: VERB 2 x NOUN 1; fast: ADV and ADJ once each, the first seen wins; "the" differs from "The";
    # NOUN is the most frequent tag overall (5 of 14), so unknown words get it
    assert tagger.tag(["run", "fast", "the", "The", "cat"]) == ["VERB", "ADV", "NOUN", "DET", "NOUN"]


def test_token_accuracy_counts_words_over_all_sentences() -> None:
    truth = [["A", "B"], ["A", "A", "C"]]
    assert token_accuracy(truth, [["A", "A"], ["A", "A", "C"]]) == pytest.approx(4 / 5)


def test_conll_written_for_the_app_reads_back_the_same_sentences(tmp_path: Path) -> None:
    from lmstudio_app.core.tokens.files import read_tagged

    sentences = read_brown("\tThe/at 1/2/cd ``/`` dog's/nn$ ./.\n\n\tRun/vb !/.\n")
    data = read_tagged(bench_pos_brown.write_conll(tmp_path / "t.conll", sentences))
    assert list(zip(data.sentences, data.tags, strict=True)) == sentences


def test_trainer_recipe_labels_first_pieces_and_reads_tags_back() -> None:
    from transformers import AutoTokenizer

    from lmstudio_app.core.models.sources import resolve

    tokenizer = AutoTokenizer.from_pretrained(resolve("all-MiniLM-L6-v2").path)
    sentences = [(["Unbelievably", "long", "words", "appear"], ["ADV", "ADJ", "NOUN", "VERB"])]
    ids = {"ADJ": 0, "ADV": 1, "NOUN": 2, "VERB": 3}
    rows, enc = bench_pos_brown.first_piece_labels(tokenizer, sentences, ids, 128)
    pieces = tokenizer.convert_ids_to_tokens(rows[0]["input_ids"])
    labels = rows[0]["labels"]
    assert len(pieces) > len(sentences[0][0]) + 2  # a word was split, so "first piece only" is tested
    first = [i for i, p in enumerate(pieces) if p not in ("[CLS]", "[SEP]") and not p.startswith("##")]
    assert [i for i, label in enumerate(labels) if label != -100] == first
    assert [labels[i] for i in first] == [1, 0, 2, 3]
    assert rows[0]["labels"][0] == rows[0]["labels"][-1] == -100  # [CLS] and [SEP]
    # reading the tags back: the label at each word's first piece; a cut-off word gets None
    best = [rows[0]["labels"]]
    assert bench_pos_brown.first_piece_tags(enc, best, [sentences[0][0]], list(ids)) == [
        ["ADV", "ADJ", "NOUN", "VERB"]
    ]
    short_rows, short_enc = bench_pos_brown.first_piece_labels(tokenizer, sentences, ids, 4)
    tags = bench_pos_brown.first_piece_tags(
        short_enc, [short_rows[0]["labels"]], [sentences[0][0]], list(ids)
    )
    assert tags[0][-1] is None and tags[0][0] == "ADV"
