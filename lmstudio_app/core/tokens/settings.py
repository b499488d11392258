"""What defines a token-classification (word tagging) job and what it produces."""

from __future__ import annotations

from dataclasses import dataclass, field

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.training.result import RunResult
from lmstudio_app.core.training.settings import TrainSettings

TOKENS_FILE = "tokens.json"  # beside a trained tagger: base model, tags, max length, scheme


@dataclass
class TokenSettings(TrainSettings):
    """The engine's settings plus the tagger's own (saved in settings.json)."""

    base_model: str = "all-MiniLM-L6-v2"
    max_length: int = 128  # pieces per window; longer sentences are split into overlapping windows
    val_fraction: float = 0.2
    all_pieces: bool = False  # label every sub-word piece, not only each word's first

    def check(self) -> None:
        super().check()
        if not 8 <= self.max_length <= 8192:
            raise UserError(
                f"Max length {self.max_length} is out of range: use 8 to 512 for BERT-like models."
            )
        if not 0 < self.val_fraction < 1:
            raise UserError(
                f"The validation fraction must be between 0 and 1 (exclusive), not {self.val_fraction}."
            )


@dataclass
class TokenResult(RunResult):
    """results.json of a tagging run: the tags, per-tag and per-entity-type scores, the confusion."""

    tags: list[str] = field(default_factory=list)
    scheme: str | None = None  # IOB2 | BIOES | None (tags without entities, e.g. parts of speech)
    per_tag: dict[str, dict] = field(default_factory=dict)
    per_type: dict[str, dict] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
