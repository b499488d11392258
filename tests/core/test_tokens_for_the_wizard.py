"""What the wizard's word-tags pages ask of the core: every broken line at once (keep_going), integer tags
counted, sentence lengths in pieces with their lines, and a table column tagged into a table."""

from __future__ import annotations

import csv
import json

import pytest

from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.tokens.files import read_tagged


def test_keep_going_lists_every_broken_line_and_keeps_the_whole_sentences(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text("EU B-ORG\nrejects O\ncall\n\nPeter B-PER\n\nx O O\n\nfine O\n", encoding="utf-8")
    with pytest.raises(DataError, match="a.conll line 3: a token without a tag"):
        read_tagged(path)  # the command line still refuses at the first
    data = read_tagged(path, keep_going=True)
    assert data.sentences == [["Peter"], ["fine"]] and data.lines == [5, 9]
    assert data.errors == [
        "a.conll line 3: a token without a tag where line 1 has 2 columns (call).",
        "a.conll line 7: 3 columns where line 1 has 2 columns (x | O | O).",
    ]
    assert data.error_count == 2


def test_keep_going_jsonl_says_integer_tags_need_names_once(tmp_path):
    path = tmp_path / "n.jsonl"
    rows = [{"tokens": ["a", "b"], "tags": [0, 2]}, {"tokens": ["c"], "tags": [1]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n", encoding="utf-8")
    data = read_tagged(path, keep_going=True)
    assert data.integer_tags == 3 and data.sentences == []
    assert len(data.errors) == 2 and "the tags are numbers" in data.errors[0] and "line 3" in data.errors[1]
    named = read_tagged(path, ["O", "B-X", "I-X"], keep_going=True)
    assert named.tags == [["O", "I-X"], ["B-X"]] and named.integer_tags == 3 and len(named.errors) == 1


def test_sentence_lengths_in_pieces_with_their_lines(tmp_path, tiny_model):
    from lmstudio_app.core.tokens.lengths import measure_sentences

    path = tmp_path / "s.conll"
    words = ["cat"] * 40
    path.write_text(
        "the\tO\ncat\tB-ANI\n\n" + "".join(f"{w}\tB-ANI\n" for w in words) + "\nsat\tO\n", encoding="utf-8"
    )
    data = read_tagged(path)
    lengths = measure_sentences(str(tiny_model("encoder")), data)
    assert lengths.lengths == [4, 42, 3]  # [CLS] ... [SEP]
    assert lengths.lines == [1, 4, 45] and lengths.limit == 128
    assert lengths.longer_than(32) == [(4, 42)] and lengths.longer_than(64) == []
    assert lengths.suggested == 48  # the longest, rounded up to 16 (all are short)


def test_a_table_column_is_tagged_into_a_table(tmp_path, tiny_model):
    import transformers

    from lmstudio_app.core.tokens.batch import predict_table

    folder = tmp_path / "tagger"
    tags = ["O", "B-LOC", "I-LOC"]
    config = transformers.AutoConfig.from_pretrained(tiny_model("encoder"))
    config.num_labels, config.id2label = 3, dict(enumerate(tags))
    config.label2id = {t: i for i, t in enumerate(tags)}
    transformers.BertForTokenClassification(config).save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(tiny_model("encoder")).save_pretrained(folder)
    table = tmp_path / "in.csv"
    table.write_text("id,text\n1,The cat sat in Paris.\n2,\n3,London\n", encoding="utf-8")
    out = tmp_path / "out.tsv"
    with pytest.raises(DataError, match="Column 'body' is not in in.csv"):
        predict_table(folder, table, "body", out)
    done = predict_table(folder, table, "text", out)
    assert (done.rows, done.skipped_empty, done.words) == (3, 1, 7)
    rows = list(csv.DictReader(out.open(encoding="utf-8"), delimiter="\t"))
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["tokens"] == "The cat sat in Paris ." and len(rows[0]["tags"].split()) == 6
    assert set(rows[0]["tags"].split()) <= set(tags) and rows[1]["tags"] == "" and "entities" in rows[0]
    with pytest.raises(Exception, match="must differ from the input"):
        predict_table(folder, table, "text", table)
