"""The Settings page's check of the word-tags and question-answering settings, shared by both paths."""

from __future__ import annotations

from typing import Any


def settings_problem(settings_type: Any, settings: dict) -> str:
    """Why `settings` cannot train (the core's own check, one line), or "" when they can."""
    from lmstudio_app.core.errors import UserError

    try:
        settings_type.from_dict(settings).check()
    except UserError as exc:
        return str(exc)
    return ""
