"""The headless CLI: models listing, smoke test, and errors as one line with exit code 2."""

import json
import os
import re
import subprocess

from processes import cli_env, run_cli

from lmstudio_app.cli import main


def _run(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return run_cli(*args, env=cli_env(os.environ["LMSTUDIO_HOME"]), timeout=timeout)


def test_models_json_lists_embedded_and_devices(capsys) -> None:
    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["embedded"][0]["name"] == "all-MiniLM-L6-v2"
    assert "cached" in data
    assert data["devices"][-1]["id"] == "cpu" and data["devices"][-1]["total_bytes"] > 0


def test_models_plain_text(capsys) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "Embedded models" in out and "all-MiniLM-L6-v2" in out and "Devices:" in out


def test_smoke_test_opens_paints_and_exits_zero() -> None:
    result = _run("--smoke-test")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("smoke-test ok: window painted")
    assert "loaded in" in result.stdout
    window, splash = (float(x) for x in re.findall(r"([\d.]+) s", result.stdout)[:2])
    assert splash < window  # the splash shows while the heavy stack imports, then the window


def test_gui_smoke_test_with_a_bad_model_fails_clearly(tmp_path) -> None:
    result = _run("gui", "--smoke-test", "-m", str(tmp_path / "missing"))
    assert result.returncode == 1
    assert "Folder not found" in result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    result = _run("frobnicate", timeout=60)
    assert result.returncode == 2 and "invalid choice" in result.stderr
