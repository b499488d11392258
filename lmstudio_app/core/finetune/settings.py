"""What defines a fine-tuning job and what it produces."""

from __future__ import annotations

from dataclasses import dataclass, field

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.training.head_job import HeadSettings
from lmstudio_app.core.training.result import RunResult

FINETUNE_FILE = "finetune.json"  # beside a fine-tuned model: base model, labels, max length


@dataclass
class FineTuneSettings(HeadSettings):
    """A head job's settings plus the classifier's columns (saved in settings.json, shown as a command line)."""

    text_column: str = "text"
    label_column: str = "label"
    text_pair_column: str | None = None
    threshold: float | None = None  # multi-label: a fixed "label applies" probability; None = tuned

    def check(self) -> None:
        super().check()
        if self.threshold is not None and not 0 < self.threshold < 1:
            raise UserError(f"The threshold must be between 0 and 1 (exclusive), not {self.threshold}.")


@dataclass
class FineTuneResult(RunResult):
    """What the Results step shows; saved as results.json in the run folder."""

    labels: list[str] = field(default_factory=list)
    per_class: dict[str, dict] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    misclassified: list[dict] = field(default_factory=list)
    multi_label: bool = False  # one sigmoid per label: per_class is per label, no confusion matrix
    threshold: float | None = None  # multi-label: the probability from which a label is predicted
