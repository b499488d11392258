"""Every output is checked before the long work: a place that cannot be written, a path of the wrong kind
or a format nothing can write is one line at once (core/outputs.py), in the CLI and in the app."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from lmstudio_app.core.data.table_writer import TABLE_FORMATS
from lmstudio_app.core.jsonio import OutputError
from lmstudio_app.core.outputs import check_output_dir, check_output_file


def test_a_writable_place_passes_and_keeps_nothing_behind(tmp_path: Path) -> None:
    assert check_output_file(str(tmp_path / "out.XLSX"), TABLE_FORMATS) == tmp_path / "out.XLSX"
    assert check_output_file(tmp_path / "launch", None) == tmp_path / "launch"  # any name
    assert check_output_dir(tmp_path / "new" / "run") == tmp_path / "new" / "run"
    assert list(tmp_path.iterdir()) == []  # the probes are gone, no folder was made


def test_a_format_it_cannot_write_names_the_ones_it_can(tmp_path: Path) -> None:
    with pytest.raises(OutputError) as caught:
        check_output_file(tmp_path / "out.docx", TABLE_FORMATS)
    assert str(caught.value) == (
        f"cannot write {tmp_path / 'out.docx'}: the .docx format is not supported; "
        "the name must end in .csv, .tsv, .xlsx, .jsonl or .json"
    )
    with pytest.raises(OutputError, match="a name without an extension is not supported; .* .png or .json"):
        check_output_file(tmp_path / "picture", (".png", ".json"))


def test_a_missing_parent_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=f"the folder {tmp_path / 'missing'} does not exist; create it"):
        check_output_file(tmp_path / "missing" / "out.csv", TABLE_FORMATS)
    assert not (tmp_path / "missing").exists()


def test_paths_under_proc_and_sys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"^cannot write /proc/out\.json: /proc does not take new files$"):
        check_output_file("/proc/out.json", (".json",))
    with pytest.raises(OutputError, match="^cannot write /proc/nope/run: /proc does not take new files$"):
        check_output_dir("/proc/nope/run")
    with pytest.raises(OutputError, match="^cannot write /sys/lmstudio-test: "):
        check_output_dir("/sys/lmstudio-test")


def test_a_path_of_the_wrong_kind(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("keep me")
    with pytest.raises(OutputError, match="it is a file, not a folder; choose a folder"):
        check_output_dir(file)
    with pytest.raises(OutputError, match=f"{file} is a file, not a folder"):
        check_output_dir(file / "run")
    with pytest.raises(OutputError, match=f"{file} is a file, not a folder"):
        check_output_file(file / "out.csv", TABLE_FORMATS)
    (tmp_path / "taken.csv").mkdir()
    with pytest.raises(OutputError, match="it is a folder; give a file name"):
        check_output_file(tmp_path / "taken.csv", TABLE_FORMATS)
    assert file.read_text() == "keep me"


def test_a_read_only_folder_is_found_by_trying(read_only_dir: Path) -> None:
    """Root passes every permission check, so only a real attempt finds the read-only mount."""
    reason = os.strerror(errno.EROFS if os.geteuid() == 0 else errno.EACCES)
    out = read_only_dir / "out.csv"
    with pytest.raises(OutputError, match=f"^cannot write {out}: {reason}$"):
        check_output_file(out, TABLE_FORMATS)
    with pytest.raises(OutputError, match=f"^cannot write {read_only_dir / 'run' / 'x'}: {reason}$"):
        check_output_dir(read_only_dir / "run" / "x")
