"""Reading users' tables: every kind of bad input loads correctly or fails with one clear line.

The files are written here byte for byte (BOMs, UTF-16, cp1252, CRLF, binary junk) instead of being
committed, so each test shows exactly what the user's file contained.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import pytest

from lmstudio_app.core.data.table import DataError, inspect_table, read_table
from lmstudio_app.core.tasks import TaskState


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_utf8_with_bom_has_clean_first_column(tmp_path):
    path = write(tmp_path, "bom.csv", b"\xef\xbb\xbftext,label\ncaf\xc3\xa9 ok,pos\n")
    table = read_table(path)
    assert table.encoding == "utf-8-sig"
    assert table.columns == ["text", "label"]
    assert table.frame["text"][0] == "café ok"


def test_latin1(tmp_path):
    path = write(tmp_path, "latin1.csv", "text,label\ncafé crème,pos\nnaïve,neg\n".encode("latin-1"))
    table = read_table(path)
    assert table.encoding == "latin-1"
    assert table.frame["text"].tolist() == ["café crème", "naïve"]


def test_cp1252_smart_quotes(tmp_path):
    text = "text,label\n\u201cgreat\u201d film \u2013 isn\u2019t it,pos\n"
    path = write(tmp_path, "smart.csv", text.encode("cp1252"))
    table = read_table(path)
    assert table.encoding == "cp1252"
    assert table.frame["text"][0] == "\u201cgreat\u201d film \u2013 isn\u2019t it"


def test_utf16_excel_unicode_text_is_tab_separated(tmp_path):
    text = "text\tlabel\r\nolá, mundo\tpos\r\n日本語\tneg\r\n"
    path = write(tmp_path, "excel.txt", text.encode("utf-16"))  # BOM + little endian, as Excel writes it
    table = read_table(path)
    assert table.encoding == "utf-16"
    assert table.delimiter == "\t"
    assert table.frame["text"].tolist() == ["olá, mundo", "日本語"]
    assert table.frame["label"].tolist() == ["pos", "neg"]


def test_utf16_without_bom(tmp_path):
    path = write(tmp_path, "nobom.csv", "text,label\nhello,pos\n".encode("utf-16-le"))
    table = read_table(path)
    assert table.encoding == "utf-16-le"
    assert table.frame["label"].tolist() == ["pos"]


def test_semicolon_separated_with_decimal_commas(tmp_path):
    path = write(tmp_path, "semi.csv", b"text;label;score\nnice, really;pos;0,9\nbad;neg;0,1\n")
    table = read_table(path)
    assert table.delimiter == ";"
    assert table.frame["text"].tolist() == ["nice, really", "bad"]
    assert table.frame["score"].tolist() == ["0,9", "0,1"]


def test_tab_separated(tmp_path):
    path = write(tmp_path, "data.tsv", b"text\tlabel\na, b, c\tpos\nd\tneg\n")
    table = read_table(path)
    assert table.delimiter == "\t"
    assert table.frame["text"].tolist() == ["a, b, c", "d"]


def test_quoted_fields_with_commas_newlines_and_quotes(tmp_path):
    data = b'text,label\n"one, two\nthree ""quoted""",pos\nplain,neg\n'
    table = read_table(write(tmp_path, "quoted.csv", data))
    assert table.frame["text"].tolist() == ['one, two\nthree "quoted"', "plain"]
    assert table.problems == []


def test_crlf_leaves_no_carriage_returns(tmp_path):
    data = b'text,label\r\n"line one\r\nline two",pos\r\nsecond,neg\r\n'
    table = read_table(write(tmp_path, "crlf.csv", data))
    assert table.frame["text"].tolist() == ["line one\nline two", "second"]
    assert table.frame["label"].tolist() == ["pos", "neg"]


def test_empty_file(tmp_path):
    with pytest.raises(DataError, match="empty"):
        read_table(write(tmp_path, "empty.csv", b""))
    with pytest.raises(DataError, match="empty"):
        read_table(write(tmp_path, "blank.csv", b"\n \r\n"))


def test_header_only_is_readable_with_a_problem(tmp_path):
    info = inspect_table(write(tmp_path, "header.csv", b"text,label\n"))
    assert info["rows"] == 0
    assert info["columns"] == ["text", "label"]
    assert any("no data rows" in p for p in info["problems"])


def test_duplicate_and_blank_column_names(tmp_path):
    table = read_table(write(tmp_path, "dup.csv", b"text,text,,label\na,b,c,pos\n"))
    assert table.columns == ["text", "text.1", "column_3", "label"]
    assert "duplicate column 'text' renamed 'text.1'" in table.problems
    assert table.frame["text.1"][0] == "b"


def test_ragged_rows_are_padded_or_kept(tmp_path):
    data = b"text,label\nshort\ngood,pos\ntoo,many,fields,here\n"
    table = read_table(write(tmp_path, "ragged.csv", data))
    assert table.frame["text"].tolist() == ["short", "good", "too"]
    assert table.frame["label"].tolist() == ["", "pos", "many"]
    assert table.columns == ["text", "label", "column_3", "column_4"]
    assert table.frame["column_4"].tolist() == ["", "", "here"]  # nothing lost
    assert any("fewer fields" in p and "padded" in p for p in table.problems)
    assert any("more fields" in p for p in table.problems)


@pytest.mark.parametrize(
    "junk",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        random.Random(1).randbytes(4096),
        struct.pack("<100d", *range(100)),
    ],
    ids=["png", "random", "doubles"],
)
def test_binary_file_renamed_csv(tmp_path, junk):
    with pytest.raises(DataError, match="not a text table|does not look like a text table") as info:
        read_table(write(tmp_path, "photo.csv", junk))
    assert "\n" not in str(info.value)


def test_xlsx_renamed_csv_is_read_as_a_workbook(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["text", "label"])
    sheet.append(["from excel", 1])
    book.save(tmp_path / "book.xlsx")
    renamed = tmp_path / "book.csv"
    renamed.write_bytes((tmp_path / "book.xlsx").read_bytes())
    for path in (tmp_path / "book.xlsx", renamed):
        table = read_table(path)
        assert table.columns == ["text", "label"]
        assert table.frame["label"].tolist() == ["1"]


def test_jsonl(tmp_path):
    lines = [json.dumps({"text": "a", "label": 1}), "not json", json.dumps({"text": "b", "label": None})]
    table = read_table(write(tmp_path, "data.jsonl", "\n".join(lines).encode()))
    assert table.frame["label"].tolist() == ["1", ""]
    assert any("not a JSON object" in p for p in table.problems)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="folder"):
        read_table(tmp_path)


def test_wrong_encoding_override_is_a_clear_error(tmp_path):
    path = write(tmp_path, "u16.csv", "text,label\nx,y\n".encode("utf-16"))
    with pytest.raises(DataError, match="cannot be decoded as utf-8"):
        read_table(path, encoding="utf-8")


def test_delimiter_override(tmp_path):
    path = write(tmp_path, "pipe.csv", b"text|label\na,b|pos\n")
    assert read_table(path, delimiter="|").frame["text"].tolist() == ["a,b"]


def test_extremely_long_field_is_read_whole(tmp_path):
    long_text = "word " * 200_000  # 1 MB in one cell, beyond csv's default field limit
    path = write(tmp_path, "long.csv", f'text,label\n"{long_text}",pos\nshort,neg\n'.encode())
    table = read_table(path)
    assert table.frame["text"][0] == long_text


def test_100k_rows_load_with_progress(tmp_path):
    rng = random.Random(0)
    words = "good bad film plot actor great awful music story boring".split()
    lines = ["id,text,label"]
    lines += [f"{i},{' '.join(rng.choices(words, k=8))},{rng.choice(['pos', 'neg'])}" for i in range(100_000)]
    path = write(tmp_path, "big.csv", ("\n".join(lines) + "\n").encode())
    seen: list[tuple[float, str]] = []
    table = read_table(path, state=TaskState(lambda f, m: seen.append((f, m))))
    assert len(table.frame) == 100_000
    assert table.frame["id"].iloc[-1] == "99999"
    assert len(seen) >= 10  # reported as it goes, so the GUI can show a moving bar
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_reading_can_be_cancelled(tmp_path):
    from lmstudio_app.core.tasks import Cancelled

    lines = ["text,label"] + [f"row {i},x" for i in range(20_000)]
    path = write(tmp_path, "big.csv", "\n".join(lines).encode())
    state = TaskState()
    state.request_stop()
    with pytest.raises(Cancelled):
        read_table(path, state=state)


def test_a_quote_that_is_never_closed_is_reported_not_swallowed(tmp_path):
    path = write(tmp_path, "open.csv", b'text,label\nfine,pos\n"unterminated, pos\nnext,neg\nthird,pos\n')
    with pytest.raises(DataError, match=r"line 3: a quote \(\"\) opens a field that is never closed"):
        read_table(path)
    # an inch mark inside a field is no quoting: read as written
    table = read_table(write(tmp_path, "inch.csv", b'text,label\na 5" screen,pos\nok,neg\n'))
    assert table.frame["text"].tolist() == ['a 5" screen', "ok"]
