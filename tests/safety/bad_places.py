"""What the safety tests check after a failed write: the one error line, and nothing left behind."""

from __future__ import annotations

from pathlib import Path

GOOD = b"an earlier good file\n"


def no_leftovers(folder: Path) -> list[str]:
    """Temporary files an atomic write left behind (none, if it cleaned up after a failure)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".filler")


def one_error_line(stderr: str, *fragments: str) -> str:
    """The last line of stderr, checked to be the one error line; everything else is progress."""
    assert "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("lmstudio-app: error: "), stderr
    for fragment in fragments:
        assert fragment in last, last
    return last
