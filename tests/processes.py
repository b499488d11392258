"""Running `python -m lmstudio_app` as a separate process, the way a user or a script runs it.

In-process calls of `cli.main` cannot see what happens after `main` returns (Qt and interpreter
teardown, the final flush of stdout), which is exactly where exit statuses went wrong before.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cli_env(home: Path | str, **extra: str) -> dict[str, str]:
    """The environment of a test run: offscreen Qt, no network, app data and settings under `home`."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "QT_QPA_PLATFORM": "offscreen",
        "HF_HUB_OFFLINE": "1",
        "QTWEBENGINE_DISABLE_SANDBOX": "1",
        "LMSTUDIO_HOME": str(home),
        "XDG_CONFIG_HOME": str(Path(home) / "config"),  # QSettings of the GUI, away from the developer's own
        "TOKENIZERS_PARALLELISM": "false",
    }
    env.update(extra)
    return env


def cli_command(*args: object) -> list[str]:
    return [sys.executable, "-m", "lmstudio_app", *map(str, args)]


def run_cli(*args: object, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run `lmstudio-app ARGS` to the end; the result has returncode, stdout and stderr as text."""
    return subprocess.run(
        cli_command(*args), capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO
    )
