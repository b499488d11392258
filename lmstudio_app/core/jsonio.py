"""Atomic file writes and forgiving JSON reads: a crash or a full disk never leaves half a file.

Every file the app writes goes through here: the content is written to a temporary file in the same
folder, flushed to disk, then renamed over the target (a rename within a folder is atomic), so the
target is either the old good file or the new complete one. I/O errors become one-line `OutputError`s
("cannot write PATH: reason") that the CLI turns into exit code 2 and the GUI into a message.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import UserError


class OutputError(UserError):
    """A file could not be written; the message names the path and the reason."""


def cannot_write(path: Path | str, exc: BaseException) -> OutputError:
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        # copytree collects (src, dst, "[Errno N] reason: 'src' -> 'dst'") per file: the first reason
        why = str(exc.args[0][0][-1])
        match = re.match(r"\[Errno \d+\] ([^:]+)", why)
        reason = match[1] if match else why
    else:
        reason = getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0] or type(exc).__name__
    return OutputError(f"cannot write {path}: {reason}")


def disk_refusal(exc: BaseException, path: Path | str) -> OutputError | None:
    """An OutputError when `exc` means the disk refused a write, else None.

    Libraries wrap the OSError of a full disk in their own errors (safetensors' SafetensorError, torch's
    "file write failed" RuntimeError), so their messages are recognised too.
    """
    if isinstance(exc, OutputError):
        return exc
    if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
        return cannot_write(getattr(exc, "filename", None) or path, exc)
    text = str(exc)
    for needle, reason in _WRAPPED_WRITE_ERRORS:
        if needle in text:
            return OutputError(f"cannot write {path}: {reason}")
    return None


_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
_WRAPPED_WRITE_ERRORS = (
    ("No space left on device", os.strerror(errno.ENOSPC)),
    ("StorageFull", os.strerror(errno.ENOSPC)),
    ("Read-only file system", os.strerror(errno.EROFS)),
    ("file write failed", "file write failed (is the disk full?)"),
)


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
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the user's usual permissions
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


_UMASK = _umask()  # read once: os.umask can only be read by setting it, which races with other threads


def copy_folder(src: Path | str, dst: Path | str) -> Path:
    """Copy the folder `src` to `dst` (new or empty), all or nothing: it is copied into a temporary
    sibling folder and renamed, so a full disk leaves no half-copied model behind."""
    dst = Path(dst)
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise OutputError(f"cannot write {dst}: it is not a new or empty folder; choose another one")
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    except OSError as exc:
        raise cannot_write(dst, exc) from exc
    try:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes a private folder
        if dst.exists():
            dst.rmdir()
        os.replace(tmp, dst)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise cannot_write(dst, exc) from exc
    return dst


def write_bytes(path: Path | str, data: bytes) -> None:
    """Write `data` to `path` atomically (fsync before the rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
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
