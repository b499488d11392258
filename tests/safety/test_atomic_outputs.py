"""Issue 11, class 3: every write is atomic, and a bad output place is one line, never a traceback.

Built for real: a read-only tmpfs, a full tmpfs, a path under /proc, a folder where a file is wanted.
Each failure must leave the earlier good file untouched and no temporary file behind.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from bad_places import GOOD, no_leftovers, one_error_line
from processes import cli_env, run_cli

from lmstudio_app.core.jsonio import OutputError, copy_folder, write_json, write_text

SENTENCE = "the cat sat on the mat"


@pytest.mark.parametrize("place", ["read_only_dir", "full_dir"])
def test_a_refused_write_keeps_the_good_file(place: str, request: pytest.FixtureRequest) -> None:
    folder: Path = request.getfixturevalue(place)
    reason = os.strerror(errno.EROFS if place == "read_only_dir" else errno.ENOSPC)
    with pytest.raises(OutputError, match=f"cannot write {folder / 'good.txt'}: {reason}"):
        write_text(folder / "good.txt", "x" * 300_000)  # larger than the whole full disk
    assert (folder / "good.txt").read_bytes() == GOOD
    assert no_leftovers(folder) == []


def test_a_simulated_full_disk_keeps_the_good_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same promise where no tmpfs can be mounted: the disk fills up while the data is flushed."""
    target = tmp_path / "metrics.json"
    target.write_bytes(GOOD)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match="No space left on device"):
        write_json(target, {"eval_accuracy": 1.0})
    assert target.read_bytes() == GOOD and no_leftovers(tmp_path) == []


def test_wrong_kinds_of_output_path(tmp_path: Path) -> None:
    (tmp_path / "taken.json").mkdir()
    with pytest.raises(OutputError, match="it is a folder; give a file name"):
        write_json(tmp_path / "taken.json", {})
    with pytest.raises(OutputError, match=r"cannot write /proc/lmstudio-test/out\.json: "):
        write_json("/proc/lmstudio-test/out.json", {})
    (tmp_path / "file").write_bytes(GOOD)
    with pytest.raises(OutputError, match="cannot write"):
        write_json(tmp_path / "file" / "below.json", {})  # a file where a folder is needed
    assert (tmp_path / "file").read_bytes() == GOOD


def test_saving_a_model_folder_is_all_or_nothing(tiny_model, tmp_path: Path, full_dir: Path) -> None:
    model = tiny_model("classifier")
    with pytest.raises(OutputError, match=f"cannot write {full_dir / 'saved'}: No space left on device"):
        copy_folder(model, full_dir / "saved")
    assert not (full_dir / "saved").exists() and no_leftovers(full_dir) == []
    with pytest.raises(OutputError, match="not a new or empty folder"):
        copy_folder(model, full_dir)  # never into a folder that holds files
    saved = copy_folder(model, tmp_path / "saved")
    assert sorted(p.name for p in saved.iterdir()) == sorted(p.name for p in model.iterdir())


def test_png_and_svg_exports_are_whole_or_absent(qtbot, tmp_path: Path, full_dir: Path) -> None:
    import numpy as np

    from lmstudio_app.ui.widgets.heatmap import Heatmap, export_png, export_svg

    heatmap = Heatmap()
    qtbot.addWidget(heatmap)
    heatmap.resize(400, 300)
    heatmap.set_matrix(np.eye(4, dtype=np.float32), list("abcd"), list("abcd"))
    export_png(heatmap, tmp_path / "map.png")
    export_svg(heatmap, tmp_path / "map.svg")
    assert (tmp_path / "map.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (tmp_path / "map.svg").read_bytes()
    for export in (export_png, export_svg):
        with pytest.raises(OutputError, match="No space left on device"):
            export(heatmap, full_dir / "good.txt")
    assert (full_dir / "good.txt").read_bytes() == GOOD and no_leftovers(full_dir) == []


def test_gui_shows_a_refused_write_as_a_message_not_a_crash(qtbot, tmp_path: Path) -> None:
    """An OutputError that reaches Qt's event loop (a slot, a page's initializePage) is a warning box."""
    from lmstudio_app.ui.crash import CrashReporter

    reporter = CrashReporter()
    try:
        raise OutputError(f"cannot write {tmp_path}/x.png: Read-only file system")
    except OutputError as exc:
        reporter.handle(type(exc), exc, exc.__traceback__)
    assert reporter.dialogs == []
    assert [box.text() for box in reporter.messages] == [
        f"cannot write {tmp_path}/x.png: Read-only file system"
    ]
    reporter.messages[0].close()


def test_cli_writes_refused_in_one_line(tiny_model, tmp_path: Path, read_only_dir: Path) -> None:
    """attention to /proc (JSON) and to a read-only folder (PNG through Qt): exit 2, one line each."""
    env = cli_env(tmp_path / "home")
    model = tiny_model("mlm")
    result = run_cli("attention", "-m", model, "-o", "/proc/attention.json", SENTENCE, env=env)
    assert result.returncode == 2
    one_error_line(result.stderr, "cannot write /proc/attention.json: ")
    result = run_cli("attention", "-m", model, "-o", read_only_dir / "good.png", SENTENCE, env=env)
    assert result.returncode == 2
    one_error_line(result.stderr, f"cannot write {read_only_dir / 'good.png'}: Read-only file system")


def test_predict_onto_a_full_disk_keeps_the_earlier_output(
    tiny_model, tmp_path: Path, full_dir: Path
) -> None:
    table = tmp_path / "in.csv"
    table.write_text("text\n" + "a good film\n" * 5000, encoding="utf-8")  # more than the disk holds
    out = (full_dir / "good.txt").rename(full_dir / "good.csv")  # a table name: .txt is no table format
    result = run_cli(
        "predict", "-m", tiny_model("classifier"), "--csv", table, "--text-column", "text", "-o", out,
        env=cli_env(tmp_path / "home"),
    )  # fmt: skip
    assert result.returncode == 2
    one_error_line(result.stderr, f"cannot write {out}: No space left on device")
    assert out.read_bytes() == GOOD and no_leftovers(full_dir) == []


def test_finetune_onto_a_full_disk_fails_in_one_line(tiny_model, tmp_path: Path, full_dir: Path) -> None:
    """The run folder fits, its checkpoint does not: one line, and the run is not left 'running'."""
    table = tmp_path / "train.csv"
    rows = [f"{w} film,{'pos' if i % 2 else 'neg'}" for i, w in enumerate(["good", "bad"] * 10)]
    table.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    (full_dir / ".filler").unlink()  # room for settings.json and the status, not for the weights
    filler = full_dir / ".filler"
    filler.write_bytes(b"\0" * (200 * 1024))
    run = full_dir / "run"
    result = run_cli(
        "finetune", "-m", tiny_model("encoder"), "--csv", table, "--text-column", "text",
        "--label-column", "label", "-o", run, "--max-steps", "2", "--max-length", "16", "--device", "cpu",
        env=cli_env(tmp_path / "home"),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    one_error_line(result.stderr, "cannot write", "No space left on device")
    assert (full_dir / "good.txt").read_bytes() == GOOD
