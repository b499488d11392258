"""Atomic file writes and forgiving JSON reads: a crash or a full disk never leaves half a file.

Every file the app writes goes through here: the content is written to a temporary file in the same
folder, flushed to disk, then renamed over the target (a rename within a folder is atomic), so the
target is either the old good file or the new complete one. I/O errors become one-line `OutputError`s
("cannot write PATH: reason") that the CLI turns into exit code 2 and the GUI into a message.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import UserError


class OutputError(UserError):
    """A file could not be written; the message names the path and the reason."""


def cannot_write(path: Path | str, exc: BaseException) -> OutputError:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return OutputError(f"cannot write {path}: {reason}")


@contextlib.contextmanager
def atomic_path(path: Path | str, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed to `path`, on failure removed.

    For writers that want a file name (pandas, Qt's image writer, torch.onnx.export). The temporary
    name keeps the target's suffix, because some writers choose the format from it.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent
        )
        os.close(fd)
    except OSError as exc:
        raise cannot_write(path, exc) from exc
    tmp = Path(tmp_name)
    try:
        yield tmp
        mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)  # mkstemp makes 0600 files; give the user's usual permissions
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise cannot_write(path, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: Path | str, data: bytes) -> None:
    """Write `data` to `path` atomically (fsync before the rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def write_text(path: Path | str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path | str, value: Any) -> None:
    write_text(path, json.dumps(value, indent=2, ensure_ascii=False, default=str))


def read_json(path: Path | str) -> dict:
    """The JSON object in `path`, or {} when it is missing, unreadable or not an object."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
