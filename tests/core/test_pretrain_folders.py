"""A folder of text for pre-training: what is text is decided by content, not by extension (README, LICENSE,
man pages have none); binary files are skipped and named, a folder of only binaries is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.pretrain.corpus import TextSource, build_corpus

PNG = b"\x89PNG\r\n\x1a\n" + bytes(300)
WITH_NUL = b"header\x00\x01\x02 some data \x00\xff" * 40


def lines(prefix: str, n: int = 12) -> str:
    return "".join(f"{prefix} line number {i} says something. It goes on.\n" for i in range(n))


def every_line(corpus) -> list[str]:
    return [line for doc in corpus.train + corpus.held_out for line in doc]


def test_text_without_extension_is_used_and_binaries_are_skipped_by_name(tmp_path: Path) -> None:
    (tmp_path / "README").write_text(lines("Readme"), encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "LICENSE").write_bytes(lines("Licence").encode("cp1252") + "café\n".encode("cp1252"))
    (tmp_path / "logo.png").write_bytes(PNG)
    (tmp_path / "docs" / "blob").write_bytes(WITH_NUL)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")  # hidden: not text to learn from
    corpus = build_corpus(TextSource(paths=[str(tmp_path)]), 0.05)
    assert corpus.documents == 2 and corpus.lines == 25
    assert "café" in every_line(corpus) and not any("refs/heads" in line for line in every_line(corpus))
    assert corpus.skipped == ["docs/blob", "logo.png"]
    assert corpus.summary().endswith("; 2 files skipped as not text: docs/blob, logo.png")


def test_a_file_binary_past_its_first_bytes_is_skipped_too(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text(lines("Notes"), encoding="utf-8")
    (tmp_path / "late.txt").write_bytes(b"plain words\n" * 1000 + WITH_NUL)  # text for the first 12 kB
    corpus = build_corpus(TextSource(paths=[str(tmp_path)]), 0.05)
    assert corpus.documents == 1 and corpus.skipped == ["late.txt"]


def test_a_man_page_printed_with_overstrikes_reads_as_plain_text(tmp_path: Path) -> None:
    page = "N\bNA\bAM\bME\bE\n" + "".join(f"_\bl_\bs lists the files, part {i}. Done.\n" for i in range(12))
    (tmp_path / "ls.1").write_text(page, encoding="utf-8")
    corpus = build_corpus(TextSource(paths=[str(tmp_path / "ls.1")]), 0.05)
    assert "NAME" in every_line(corpus) and "ls lists the files, part 3. Done." in every_line(corpus)


def test_a_folder_of_only_binaries_is_one_error_naming_them(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(PNG)
    (tmp_path / "blob").write_bytes(WITH_NUL)
    (tmp_path / "module.pyc").write_bytes(b"\xa7\r\r\n\x00\x00\x00\x00" + bytes(range(256)))
    with pytest.raises(DataError) as caught:
        build_corpus(TextSource(paths=[str(tmp_path)]))
    assert str(caught.value) == (
        f"{tmp_path} has no text files: 3 files, none of them text (blob, logo.png, module.pyc)."
    )
