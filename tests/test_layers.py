"""The house rules a reviewer would otherwise check by hand: layers, module size, parameter counts."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "lmstudio_app"
MAX_LINES = 500
MAX_POSITIONAL = 6  # above that, a dataclass carries the values


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_import_contracts_hold():
    """core imports no Qt/ui/commands; cli > commands > ui > core; core's features are independent."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.fail("lint-imports is missing: install the test extras (pip install -e '.[test]')")
    done = subprocess.run([lint, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_no_module_is_over_500_lines():
    big = {
        str(p.relative_to(REPO)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert big == {}, f"split these modules: {big}"


def test_no_function_takes_more_than_six_positional_parameters():
    wide = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [
                    a.arg for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")
                ]
                if len(names) > MAX_POSITIONAL:
                    wide.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}({len(names)})")
    assert wide == [], "use a dataclass for these: " + ", ".join(wide)
