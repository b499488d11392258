"""Issue 11, class 5: input is never silently misread; bad numbers, no display and a read-only data
folder are one line each (or one warning), the same in every command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from bad_places import one_error_line
from processes import cli_env, run_cli

from lmstudio_app.cli import main
from lmstudio_app.core.data.table import DataError, read_table

FINETUNE = ["finetune", "--csv", "t.csv", "--text-column", "t", "--label-column", "l", "-o", "out"]


def test_a_json_array_of_objects_is_a_table(tmp_path: Path) -> None:
    file = tmp_path / "data.json"
    rows = [{"text": "good", "label": "pos"}, {"text": "bad", "label": "neg", "extra": [1]}, "stray", 3]
    file.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    table = read_table(file)
    assert table.columns == ["text", "label", "extra"]
    assert table.frame.to_dict("records") == [
        {"text": "good", "label": "pos", "extra": ""},
        {"text": "bad", "label": "neg", "extra": "[1]"},
    ]
    assert table.problems == ["2 items that are not a JSON object skipped (first: item 3)"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"data": [\n{"text": "a"}\n]}', "holds one JSON object (keys: data), not a table"),
        ('["a", "b"]', "is an array without JSON objects"),
        ('[{"text": "a"},', "is not valid JSON"),
        ("42", "holds one value, not a table"),
    ],
)
def test_other_json_is_refused_in_one_line_pointing_to_json_lines(tmp_path: Path, content, message) -> None:
    file = tmp_path / "data.json"
    file.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_table(file)
    assert message in str(caught.value) and "JSON Lines" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_json_lines_under_a_json_name_still_read(tmp_path: Path) -> None:
    file = tmp_path / "data.json"
    file.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n', encoding="utf-8")
    assert read_table(file).frame["text"].tolist() == ["a", "b"]


def test_rows_with_every_cell_empty_are_reported(tmp_path: Path) -> None:
    file = tmp_path / "data.csv"
    file.write_text("text,label\na,x\n,\n,,\nb,y\n", encoding="utf-8")
    table = read_table(file)
    assert len(table.frame) == 2 and table.problems == ["2 rows with every cell empty skipped"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fill-mask", "-k", "0", "[MASK]"], "argument -k/--top-k: 0 is out of range"),
        (["fill-mask", "-k", "many", "[MASK]"], "argument -k/--top-k: 'many' is not a whole number"),
        ([*FINETUNE, "--seed", "-5"], "argument --seed: -5 is out of range"),
        ([*FINETUNE, "--batch-size", "-8"], "argument --batch-size: -8 is out of range"),
        ([*FINETUNE, "--epochs", "0"], "argument --epochs: 0 is out of range: use a number more than 0"),
        ([*FINETUNE, "--max-length", "0"], "argument --max-length: 0 is out of range"),
        ([*FINETUNE, "--lr", "nan"], "argument --lr: nan is out of range"),
        ([*FINETUNE, "--val-split", "1"], "argument --val-split: 1 is out of range"),
        ([*FINETUNE, "--max-steps", "0"], "argument --max-steps: 0 is out of range"),
        ([*FINETUNE, "--warmup-ratio", "-0.1"], "argument --warmup-ratio: -0.1 is out of range"),
        (["inside", "lens", "-k", "0", "[MASK]"], "argument -k/--top-k: 0 is out of range"),
        (["inside", "steps", "--layer", "-1", "x"], "argument --layer: -1 is out of range"),
        (["inside", "positions", "-n", "1", "-o", "p.json"], "argument -n/--positions: 1 is out of range"),
        (["inside", "objectives", "--beta", "inf", "x"], "argument --beta: inf is out of range"),
        (["inside", "objectives", "--seed", "-5", "x"], "argument --seed: -5 is out of range"),
    ],
)
def test_bad_numbers_are_refused_in_one_line_before_anything_loads(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"lmstudio-app: error: {message}"), err


def test_no_display_is_one_line(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    result = run_cli("gui", env=env, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    one_error_line(result.stderr, "No display", "QT_QPA_PLATFORM=offscreen")


def test_read_only_data_folder_warns_once_and_goes_on(read_only_dir: Path) -> None:
    """The smoke test (the whole window, a model loaded) behaves like fill-mask and models: one warning."""
    result = run_cli("--smoke-test", env=cli_env(read_only_dir / "data"), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "Read-only file system; going on without a log file" in warnings[0]
    assert result.stdout.startswith("smoke-test ok")


def test_predict_keeps_every_row_and_says_what_it_skipped(tiny_model, tmp_path: Path) -> None:
    table = tmp_path / "in.csv"
    table.write_text("id,text\n1,a good film\n2,\n3,   \n,\n4,a bad film\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run_cli(
        "predict", "-m", tiny_model("classifier"), "--csv", table, "--text-column", "text", "-o", out,
        env=cli_env(tmp_path / "home"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip()
        == f"4 rows written to {out}; 2 with an empty text have no label (note: empty text)"
    )
    assert "note: in.csv: 1 row with every cell empty skipped" in result.stderr
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"]
    assert [r["note"] for r in rows] == ["", "empty text", "empty text", ""]
    assert all(r["predicted_label"] for r in rows if not r["note"])
    assert table.read_text(encoding="utf-8").startswith("id,text\n1,a good film")  # the input is untouched
