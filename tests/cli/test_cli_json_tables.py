"""`inspect-csv` and `finetune` on a JSON array of objects, as real processes: read as a table (exit 0), and
JSON of another shape refused with exit 2 and one line saying which shape is expected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from processes import cli_env, run_cli

from lmstudio_app import APP_NAME

GOOD = ["a wonderful film", "I loved it", "great acting", "brilliant and moving"]
BAD = ["a boring film", "I hated it", "terrible acting", "awful and far too long"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return cli_env(tmp_path_factory.mktemp("cli_home"))


def reviews_json(path: Path) -> Path:
    rows = [{"text": t, "label": "positive"} for t in GOOD] + [{"text": t, "label": "negative"} for t in BAD]
    path.write_text(json.dumps(rows * 2, indent=2), encoding="utf-8")
    return path


def test_inspect_csv_reads_a_json_array_as_a_table(env, tmp_path) -> None:
    result = run_cli("inspect-csv", "--json", reviews_json(tmp_path / "reviews.json"), env=env)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert (info["rows"], info["columns"], info["problems"]) == (16, ["text", "label"], [])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2, 3]", "array without JSON objects (its items are numbers)"),
        ("[]", "empty JSON array"),
        ('{"a": {"b": 1}}', "one JSON"),
    ],
    ids=["scalars", "empty", "nested-object"],
)
def test_inspect_csv_json_of_another_shape_is_exit_2_naming_the_shape(
    env, tmp_path, content, message
) -> None:
    path = tmp_path / "data.json"
    path.write_text(content, encoding="utf-8")
    result = run_cli("inspect-csv", path, env=env)
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{APP_NAME}: error: ") and message in lines[0]
    assert '[{"text": ..., "label": ...}, ...]' in lines[0] and "JSON Lines" in lines[0]


def test_finetune_trains_on_a_json_array(env, tiny_model, tmp_path) -> None:
    out = tmp_path / "run"
    result = run_cli(
        "finetune", "--csv", reviews_json(tmp_path / "reviews.json"), "--text-column", "text",
        "--label-column", "label", "-m", tiny_model("encoder"), "-o", out, "--max-steps", "2",
        "--batch-size", "4", "--max-length", "16", "--val-split", "0.25", "--device", "cpu",
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Training 12 rows" in result.stderr and result.stdout.startswith("accuracy ")
    assert 0.0 <= json.loads((out / "metrics.json").read_text())["eval_accuracy"] <= 1.0
    assert (out / "config.json").is_file()
