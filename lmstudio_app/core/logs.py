"""The app's log file in the user's data folder, so a crash report survives the session."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from lmstudio_app.core.paths import user_data_dir

LOGGER_NAME = "lmstudio_app"


def log_file() -> Path:
    folder = user_data_dir() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "lmstudio_app.log"


def setup_logging() -> logging.Logger:
    """Attach one rotating file handler (1 MB x 3) to the app's logger; safe to call twice."""
    logger = logging.getLogger(LOGGER_NAME)
    path = log_file()
    if not any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers):
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger
