"""Every subcommand run as its own process: its exit status (0, or 2 for bad input) and its output.

Runs on tiny random models (tests/tiny_models.py) so that each process costs little more than its imports.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from processes import cli_command, cli_env, run_cli

from lmstudio_app import APP_NAME, __version__
from lmstudio_app.core.attention import bertviz

COMMANDS = ("models", "gui", "inspect-csv", "finetune", "predict", "attention", "fill-mask")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return cli_env(tmp_path_factory.mktemp("cli_home"))


@pytest.fixture(scope="module")
def mlm(tiny_model) -> str:
    return str(tiny_model("mlm"))


def _one_error_line(result: subprocess.CompletedProcess[str], message: str) -> None:
    """Exit 2 with exactly one line on stderr (after any progress lines) that says what is wrong."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{APP_NAME}: error: ") and message in last


def test_help_lists_every_command(env) -> None:
    result = run_cli("--help", env=env)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith(f"usage: {APP_NAME}")
    assert all(name in result.stdout for name in COMMANDS)


def test_version(env) -> None:
    result = run_cli("--version", env=env)
    assert (result.returncode, result.stdout) == (0, f"{APP_NAME} {__version__}\n")


def test_models_json(env) -> None:
    result = run_cli("models", "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["embedded"][0]["name"] == "all-MiniLM-L6-v2" and data["cached"] == []
    assert data["devices"][-1]["id"] == "cpu"


def test_fill_mask_json(env, mlm) -> None:
    result = run_cli("fill-mask", "-m", mlm, "-k", "3", "--json", "the cat sat on the [MASK].", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model"] == Path(mlm).name and len(data["masks"][0]["predictions"]) == 3


def test_fill_mask_without_a_mask_exits_2(env, mlm) -> None:
    _one_error_line(run_cli("fill-mask", "-m", mlm, "no mask here", env=env), "No mask")


@pytest.mark.parametrize("suffix", [".json", ".png", ".html"])
def test_attention_writes_each_format_and_exits_0(env, mlm, tmp_path, suffix) -> None:
    """.png used to write the file and then die with SIGSEGV (139) while Qt tore down."""
    out = tmp_path / f"a{suffix}"
    result = run_cli("attention", "-m", mlm, "-o", out, "--size", "640x400", "the cat sat", env=env)
    if suffix == ".html" and bertviz.missing_assets():  # resources/js comes from packaging/dev.sh
        _one_error_line(result, "packaging/dev.sh")
        return
    assert result.returncode == 0, result.stderr
    assert f"wrote {out} (5 tokens, 2 layers x 2 heads)" in result.stderr
    if suffix == ".json":
        assert json.loads(out.read_text(encoding="utf-8"))["tokens"][1:4] == ["the", "cat", "sat"]
    elif suffix == ".png":
        from PySide6.QtGui import QImage

        image = QImage(str(out))
        assert (image.width(), image.height()) == (640, 400)
    else:
        assert "Head view" in out.read_text(encoding="utf-8")


def test_attention_bad_output_exits_2(env, mlm, tmp_path) -> None:
    result = run_cli("attention", "-m", mlm, "-o", tmp_path / "a.txt", "the cat", env=env)
    _one_error_line(result, "must end in .json, .html or .png")


def _reviews(path: Path) -> Path:
    good = ["a wonderful film", "I loved it", "great acting", "brilliant and moving"]
    bad = ["a boring film", "I hated it", "terrible acting", "awful and far too long"]
    rows = [f"{text},positive" for text in good] + [f"{text},negative" for text in bad]
    path.write_text("review,sentiment\n" + "\n".join(rows * 2) + "\n", encoding="utf-8")
    return path


def test_inspect_csv(env, tmp_path) -> None:
    result = run_cli("inspect-csv", "--json", _reviews(tmp_path / "r.csv"), env=env)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert (info["rows"], info["columns"], info["delimiter"]) == (16, ["review", "sentiment"], ",")


def test_inspect_csv_missing_file_exits_2(env, tmp_path) -> None:
    _one_error_line(run_cli("inspect-csv", tmp_path / "none.csv", env=env), "not found")


def test_finetune_then_predict_text_and_csv(env, tiny_model, tmp_path) -> None:
    data, out = _reviews(tmp_path / "r.csv"), tmp_path / "run"
    result = run_cli(
        "finetune", "--csv", data, "--text-column", "review", "--label-column", "sentiment",
        "-m", tiny_model("encoder"), "-o", out, "--max-steps", "2", "--batch-size", "4",
        "--max-length", "16", "--val-split", "0.25", "--device", "cpu",
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("accuracy ") and (out / "config.json").is_file()

    result = run_cli("predict", "-m", out, "--json", "I loved it", "awful", env=env)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["text"] for r in rows] == ["I loved it", "awful"]
    assert all(r["label"] in ("negative", "positive") for r in rows)

    table = tmp_path / "predicted.csv"
    result = run_cli("predict", "-m", out, "--csv", data, "--text-column", "review", "-o", table, env=env)
    assert result.returncode == 0, result.stderr
    assert "16 rows written" in result.stdout
    assert table.read_text(encoding="utf-8").splitlines()[0] == "review,sentiment,predicted_label,score,note"


def test_finetune_missing_column_exits_2(env, tmp_path) -> None:
    result = run_cli(
        "finetune", "--csv", _reviews(tmp_path / "r.csv"), "--text-column", "text",
        "--label-column", "sentiment", "-o", tmp_path / "run",
        env=env,
    )  # fmt: skip
    _one_error_line(result, "'text' is not in r.csv")


def test_predict_without_texts_exits_2(env, tiny_model) -> None:
    _one_error_line(run_cli("predict", "-m", tiny_model("classifier"), env=env), "Nothing to classify")


def test_gui_smoke_test_exits_0(env, mlm) -> None:
    result = run_cli("gui", "--smoke-test", "-m", mlm, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("smoke-test ok: window painted")


def test_closed_stdout_ends_quietly(env, mlm) -> None:
    """`lmstudio-app fill-mask --json ... | head -c 10`: the reader leaves before the JSON is written."""
    proc = subprocess.Popen(
        cli_command("fill-mask", "-m", mlm, "--json", "the [MASK] sat."),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # nobody reads: the first write finds the pipe broken
    err = proc.stderr.read()
    assert proc.wait(timeout=240) == 141  # 128 + SIGPIPE, what a shell reports for `... | head`
    assert "Traceback" not in err and "Exception ignored" not in err and "error" not in err.lower()
