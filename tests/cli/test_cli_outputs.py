"""Outputs from the command line, as real processes: written in the format their name says (out.xlsx is a
workbook), or refused in one line before any data is read or a model loaded."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from processes import cli_env, run_cli


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return cli_env(tmp_path_factory.mktemp("cli_home"))


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text("id,text,label\n1,a good film,pos\n2,,neg\n3,a bad film,neg\n4,so good,pos\n")
    return path


def test_predict_writes_a_real_workbook(env, tiny_model, table: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    model = tiny_model("classifier")
    result = run_cli("predict", "-m", model, "--csv", table, "--text-column", "text", "-o", out, env=env)
    assert result.returncode == 0, result.stderr
    frame = pd.read_excel(out)
    assert list(frame.columns) == ["id", "text", "label", "predicted_label", "score", "note"]
    assert frame["id"].astype(str).tolist() == ["1", "2", "3", "4"]
    assert frame["note"].fillna("").tolist() == ["", "empty text", "", ""]
    scores = frame["score"].tolist()
    assert all(0.5 <= s <= 1 for s in scores[:1] + scores[2:]) and pd.isna(scores[1])  # numbers, not text

    out = tmp_path / "texts.jsonl"
    result = run_cli("predict", "-m", model, "-o", out, "a good film", "a bad film", env=env)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == ["a good film", "a bad film"]
    assert all(r["label"] in ("label_0", "label_1") and 0.5 <= r["score"] <= 1 for r in rows)


def _refused_at_once(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 2 and one line, nothing before it: no table read, no model loaded, no progress at all."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lmstudio-app: error: cannot write "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (
            ["predict", "--csv", "{table}", "--text-column", "text", "-o", "{tmp}/out.docx"],
            ["the .docx format is not supported; the name must end in .csv, .tsv, .xlsx, .jsonl or .json"],
        ),
        (
            ["predict", "--csv", "{table}", "--text-column", "text", "-o", "{tmp}/missing/out.csv"],
            ["the folder {tmp}/missing does not exist"],
        ),
        (
            ["finetune", "--csv", "{table}", "--text-column", "text", "--label-column", "label"]
            + ["-o", "/proc/nope", "--max-steps", "1"],
            ["cannot write /proc/nope: /proc does not take new files"],
        ),
        (
            ["finetune", "--csv", "{table}", "--text-column", "text", "--label-column", "label"]
            + ["-o", "{table}", "--max-steps", "1"],
            ["it is a file, not a folder"],
        ),
        (
            ["pretrain", "--csv", "{table}", "--text-column", "text", "-o", "/proc/nope", "--max-steps", "1"],
            ["cannot write /proc/nope: /proc does not take new files"],
        ),
        (
            ["embed-map", "--csv", "{table}", "--text-column", "text", "-o", "{tmp}/map.svg"],
            [".svg format is not supported; the name must end in .png, .csv, .tsv, .xlsx, .jsonl or .json"],
        ),
        (
            ["inside", "positions", "-o", "/proc/pos.png"],
            ["cannot write /proc/pos.png: /proc does not take new files"],
        ),
    ],
)
def test_a_bad_output_is_refused_before_any_work(env, tiny_model, table, tmp_path, argv, fragments) -> None:
    model = tiny_model("classifier")
    argv = [a.replace("{table}", str(table)).replace("{tmp}", str(tmp_path)) for a in argv]
    start = time.monotonic()
    result = run_cli(*argv, "-m", model, env=env)
    took = time.monotonic() - start
    _refused_at_once(result, *(f.replace("{tmp}", str(tmp_path)) for f in fragments))
    assert took < 60, f"took {took:.1f} s"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # nothing written, no probe left
