"""What defines a fine-tuning job and what it produces."""

from __future__ import annotations

from dataclasses import dataclass, field

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.training.result import RunResult
from lmstudio_app.core.training.settings import TrainSettings

FINETUNE_FILE = "finetune.json"  # beside a fine-tuned model: base model, labels, max length


@dataclass
class FineTuneSettings(TrainSettings):
    """The engine's settings plus the classifier's own (saved in settings.json, shown as a command line)."""

    base_model: str = "all-MiniLM-L6-v2"
    text_column: str = "text"
    label_column: str = "label"
    text_pair_column: str | None = None
    max_length: int = 128
    val_fraction: float = 0.2

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
class FineTuneResult(RunResult):
    """What the Results step shows; saved as results.json in the run folder."""

    labels: list[str] = field(default_factory=list)
    per_class: dict[str, dict] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    misclassified: list[dict] = field(default_factory=list)
