"""The app's log file in the user's data folder, so a crash report survives the session."""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

from lmstudio_app.core.jsonio import OutputError, cannot_write
from lmstudio_app.core.paths import user_data_dir

LOGGER_NAME = "lmstudio_app"
_warned: list[str] = []  # the data folder refused the log file once: say so once, not per call


def log_file() -> Path:
    """Where the log goes (the folder may not exist yet, or be read-only: see setup_logging)."""
    return user_data_dir(create=False) / "logs" / "lmstudio_app.log"


def setup_logging() -> logging.Logger:
    """Attach one rotating file handler (1 MB x 3) to the app's logger; safe to call twice.

    A data folder that cannot be written (read-only, full) costs the log file only: one warning line
    on stderr, and the app goes on, the same in every command and in the GUI.
    """
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO)
    path = log_file()
    if any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers) or _warned:
        return logger
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError as exc:
        _warn(cannot_write(path, exc))
        return logger
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    return logger


def _warn(error: OutputError) -> None:
    _warned.append(str(error))
    print(f"warning: {error}; going on without a log file", file=sys.stderr, flush=True)
