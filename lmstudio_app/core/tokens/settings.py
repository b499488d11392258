"""What defines a token-classification (word tagging) job and what it produces."""

from __future__ import annotations

from dataclasses import dataclass, field

from lmstudio_app.core.training.head_job import HeadSettings
from lmstudio_app.core.training.result import RunResult

TOKENS_FILE = "tokens.json"  # beside a trained tagger: base model, tags, max length, scheme


@dataclass
class TokenSettings(HeadSettings):
    """A head job's settings plus the tagger's own (saved in settings.json); max_length counts pieces per
    window: longer sentences are split into overlapping windows."""

    all_pieces: bool = False  # label every sub-word piece, not only each word's first


@dataclass
class TokenResult(RunResult):
    """results.json of a tagging run: the tags, per-tag and per-entity-type scores, the confusion."""

    tags: list[str] = field(default_factory=list)
    scheme: str | None = None  # IOB2 | BIOES | None (tags without entities, e.g. parts of speech)
    per_tag: dict[str, dict] = field(default_factory=dict)
    per_type: dict[str, dict] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
