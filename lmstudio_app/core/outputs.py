"""Output paths checked before the long work starts, so a bad place costs one line at once.

Without this a command loads its model and reads its data, then fails at the first write. The check is
real: a probe file is created and removed in the nearest existing folder, because permission bits say
nothing to root, and a read-only mount or /proc only refuse when one tries.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from lmstudio_app.core.jsonio import OutputError, cannot_write

PROBE_PREFIX = ".lmstudio-probe-"  # the probe's name: a run folder's checks know it is not a file of theirs


def check_output_file(path: Path | str, formats: Iterable[str] | None = None) -> Path:
    """`path` as a Path, once a file can be written there in one of `formats` (suffixes such as
    ".csv"; None: any name); otherwise an OutputError saying what to change."""
    path = Path(path)
    if formats is not None:
        check_format(path, formats)
    if _is_dir(path):
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    folder = path.parent
    if not _exists(folder):
        raise OutputError(
            f"cannot write {path}: the folder {folder} does not exist; create it or choose another place"
        )
    if not _is_dir(folder):
        raise OutputError(f"cannot write {path}: {folder} is a file, not a folder")
    _probe(folder, path)
    return path


def check_format(path: Path, formats: Iterable[str]) -> str:
    """The suffix of `path` (lower case) when it is one of `formats`, else an OutputError naming them."""
    formats = tuple(formats)
    kind = path.suffix.lower()
    if kind not in formats:
        given = f"the {path.suffix} format" if path.suffix else "a name without an extension"
        raise OutputError(
            f"cannot write {path}: {given} is not supported; the name must end in {_listed(formats)}"
        )
    return kind


def check_output_dir(path: Path | str) -> Path:
    """`path` as a Path, once it is a folder (existing or not yet) where files can be written."""
    path = Path(path)
    if _exists(path) and not _is_dir(path):
        raise OutputError(f"cannot write {path}: it is a file, not a folder; choose a folder")
    ancestor = path
    while not _exists(ancestor) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not _is_dir(ancestor):
        raise OutputError(f"cannot write {path}: {ancestor} is a file, not a folder")
    _probe(ancestor, path)
    return path


def _probe(folder: Path, target: Path) -> None:
    """Create and remove a file in `folder`; a refusal names `target`, the path the user gave."""
    try:
        fd, name = tempfile.mkstemp(prefix=PROBE_PREFIX, dir=folder)
    except OSError as exc:
        if exc.errno == errno.ENOENT:  # the folder exists, yet takes no files: /proc, /sys
            raise OutputError(f"cannot write {target}: {folder} does not take new files") from exc
        raise cannot_write(target, exc) from exc
    os.close(fd)
    os.unlink(name)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError as exc:  # e.g. a folder on the way that this user may not enter
        raise cannot_write(path, exc) from exc


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError as exc:
        raise cannot_write(path, exc) from exc


def _listed(formats: tuple[str, ...]) -> str:
    return formats[0] if len(formats) == 1 else f"{', '.join(formats[:-1])} or {formats[-1]}"
