"""Where the app's shipped resources and the user's own data live."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from lmstudio_app.core.jsonio import cannot_write


def resources_dir() -> Path:
    """The `resources/` folder: installed as `lmstudio_app.resources`, or beside the package in a checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:  # PyInstaller puts data files under its unpack folder
        return Path(bundle) / "resources"
    spec = importlib.util.find_spec("lmstudio_app.resources")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parents[2] / "resources"


def user_data_dir(create: bool = True) -> Path:
    """Per-user data (runs, logs): $LMSTUDIO_HOME, else the XDG data folder; created unless told not
    to (a folder that cannot be created raises OutputError, one line)."""
    root = os.environ.get("LMSTUDIO_HOME")
    if root:
        path = Path(root)
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "lmstudio_app"
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise cannot_write(path, exc) from exc
    return path
