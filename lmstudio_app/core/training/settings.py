"""The settings every training job shares (optimiser, schedule, stopping, device), and their checks."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Self

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.precision import PRECISIONS
from lmstudio_app.core.training.ranks import per_process_batch


@dataclass
class TrainSettings:
    """What the engine needs to run any job; job kinds subclass it with their own fields."""

    epochs: float = 3.0
    learning_rate: float = 1e-4
    batch_size: int = 16
    grad_accum: int = 1  # doubled (with the batch halved) after an out-of-memory error
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    patience: int = 3  # evaluations without a better validation loss before stopping; 0 = never stop early
    seed: int = 42
    device: str = "auto"  # auto | cpu | cuda | cuda:0 | mps
    precision: str = "auto"  # auto | fp32 | bf16 | fp16 (see core/models/precision.py)
    max_steps: int = -1  # > 0 limits training (tests, quick tries)
    eval_steps: int = 0  # 0 = once per epoch (at least three times in a short run)
    processes: int = 1  # training processes (one per GPU); batch_size is the global batch, split among them
    name: str = ""
    command: dict = field(default_factory=dict)  # {"cwd", "argv"} of the CLI line that started the run

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> Self:
        """Build from a dict, ignoring unknown keys (settings saved by other versions still load)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in known})

    def copy(self) -> Self:
        return type(self).from_dict(self.to_dict())

    def check(self) -> None:
        """Refuse values that cannot work, with a message that says what to use."""
        if not (self.epochs > 0 or self.max_steps > 0):
            raise UserError("Epochs must be more than 0.")
        if not 0 < self.learning_rate < 1:
            raise UserError(f"Learning rate {self.learning_rate} is out of range: use e.g. 5e-5 to 1e-4.")
        if self.batch_size < 1 or self.grad_accum < 1:
            raise UserError("Batch size and gradient accumulation must be at least 1.")
        if not 0 <= self.warmup_ratio < 1:
            raise UserError("Warm-up must be a fraction of the training steps between 0 and 1.")
        if self.weight_decay < 0:
            raise UserError("Weight decay must be 0 or more.")
        if self.precision not in PRECISIONS:
            raise UserError(f"Unknown precision {self.precision!r}: choose one of {', '.join(PRECISIONS)}.")
        if self.patience < 0:
            raise UserError("Early-stopping patience must be 0 (off) or more.")
        if self.seed < 0:
            raise UserError(f"Seed {self.seed} is negative: use 0 or a positive whole number.")
        if self.max_steps == 0 or self.max_steps < -1:
            raise UserError("Max steps must be a positive number (or left out for whole epochs).")
        if self.eval_steps < 0:
            raise UserError(
                "The evaluation interval must be 0 (once per epoch) or a positive number of steps."
            )
        per_process_batch(self.batch_size, self.processes)

    @property
    def effective_batch(self) -> int:
        return self.batch_size * self.grad_accum

    def steps_per_epoch(self, n_train: int) -> int:
        return max(1, math.ceil(math.ceil(n_train / self.batch_size) / self.grad_accum))

    def planned_steps(self, n_train: int) -> int:
        """Optimizer steps the run will take (before early stopping)."""
        if self.max_steps > 0:
            return self.max_steps
        return max(1, math.ceil(self.epochs * self.steps_per_epoch(n_train)))

    def evaluation_interval(self, n_train: int) -> int:
        if self.eval_steps > 0:
            return self.eval_steps
        total = self.planned_steps(n_train)
        return max(1, min(self.steps_per_epoch(n_train), math.ceil(total / 3)))

    def summary(self, device: str, precision: str, extra: dict[str, Any] | None = None) -> str:
        """Every setting in force, in one line (said at the start of a run)."""
        length = f"{self.max_steps} steps" if self.max_steps > 0 else f"{self.epochs:g} epochs"
        parts = [
            length,
            f"learning rate {self.learning_rate:g}",
            f"batch {self.batch_size} x {self.grad_accum} accumulation = {self.effective_batch}",
            *(
                [f"{self.processes} processes of {self.batch_size // self.processes} rows"]
                if self.processes > 1
                else []
            ),
            *(f"{k} {v}" for k, v in (extra or {}).items()),
            f"warm-up {self.warmup_ratio:g}",
            f"weight decay {self.weight_decay:g}",
            f"early-stopping patience {self.patience}" if self.patience else "no early stopping",
            f"seed {self.seed}",
            f"device {device}",
            f"precision {precision}" + (" (auto)" if self.precision == "auto" else ""),
        ]
        return "Settings: " + ", ".join(parts)
