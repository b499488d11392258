"""Real bad places to write to: a read-only folder and a full disk (tmpfs mounts), and their helpers.

Root ignores chmod, so a read-only folder is a tmpfs remounted read-only; a full disk is a small tmpfs
filled to the last byte. Both need mount rights (root, not in every container): where mounting fails
the tests that need them are skipped with the reason, and the simulated full disk in
test_atomic_outputs.py still runs everywhere.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from bad_places import GOOD


def _mount(target: Path, options: str) -> None:
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'mount failed'})")


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A read-only folder holding good.txt (GOOD); read-only for root too."""
    target = tmp_path / "read-only"
    target.mkdir()
    if os.geteuid() != 0:  # chmod is enough for anyone but root
        (target / "good.txt").write_bytes(GOOD)
        target.chmod(0o555)
        yield target
        target.chmod(0o755)
        return
    _mount(target, "size=256k")
    (target / "good.txt").write_bytes(GOOD)
    subprocess.run(["mount", "-o", "remount,ro", str(target)], check=True)
    yield target
    _umount(target)


@pytest.fixture
def full_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder on a full disk (a 256 KB tmpfs with no byte left) holding good.txt (GOOD)."""
    if os.geteuid() != 0:
        pytest.skip("a full disk needs a tmpfs mount, which needs root")
    target = tmp_path / "full"
    target.mkdir()
    _mount(target, "size=256k")
    (target / "good.txt").write_bytes(GOOD)
    with open(target / ".filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    yield target
    _umount(target)
