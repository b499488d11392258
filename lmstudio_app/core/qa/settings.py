"""What defines an extractive question-answering job and what it produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.training.head_job import HeadSettings
from lmstudio_app.core.training.result import RunResult

QA_FILE = "qa.json"  # beside a fine-tuned QA model: base model, window length, stride, unanswerable


@dataclass
class QASettings(HeadSettings):
    """A head job's settings plus the windows and answers of question answering."""

    MIN_LENGTH: ClassVar[int] = 32

    max_length: int = 384  # tokens per window: question + part of the context
    stride: int = 128  # tokens shared by consecutive windows of one context
    max_answer_tokens: int = 30
    data: str = ""  # the training file, for the record and for resuming (core/qa/plan.py)
    val_data: str = ""  # a separate validation file ("": val_fraction of the contexts held out)
    columns: dict = field(default_factory=dict)  # a table's column names (qa.data.Columns) when not the defaults

    def check(self) -> None:
        super().check()
        if not 0 <= self.stride < self.max_length // 2:
            raise UserError(
                f"The stride ({self.stride}) must be 0 or more and under half the max length ({self.max_length})."
            )
        if self.max_answer_tokens < 1:
            raise UserError("The longest answer must be at least 1 token.")


@dataclass
class QAResult(RunResult):
    """Saved as results.json: the metrics and the held-out questions the model got wrong."""

    unanswerable: bool = False
    mistakes: list[dict] = field(default_factory=list)
