"""What defines a pre-training job (the engine's settings plus the objective's) and what it produces."""

from __future__ import annotations

from dataclasses import dataclass, field

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM
from lmstudio_app.core.training.result import RunResult
from lmstudio_app.core.training.settings import TrainSettings

PRETRAIN_FILE = "pretrain.json"  # beside a pre-trained model: base model, objective, before/after
EVAL_SEED_OFFSET = 1234  # the held-out masks use seed + this, apart from the training masks


@dataclass
class PretrainSettings(TrainSettings):
    """Masked-LM (+ NSP) pre-training: BERT's 15 % masking, 80/10/10, packing, L = α·L_MLM + β·L_NSP."""

    epochs: float = 1.0
    batch_size: int = 32
    warmup_ratio: float = 0.06
    patience: int = 0  # pre-training rarely needs early stopping; the best checkpoint is kept when it is on
    base_model: str = DEFAULT_MASKED_LM
    mlm_probability: float = 0.15
    mask_replace: float = 0.8  # of the chosen tokens: [MASK] ...
    random_replace: float = 0.1  # ... a random token; the rest stay unchanged
    whole_words: bool = False
    max_length: int = 128
    nsp: bool = False
    alpha: float = 1.0  # weight of the masked-LM loss
    beta: float = 1.0  # weight of the next-sentence loss
    held_out_fraction: float = 0.03
    probes: list[str] = field(default_factory=list)  # the user's sentences with [MASK]

    def check(self) -> None:
        super().check()
        if not 0 < self.mlm_probability < 1:
            raise UserError(
                f"The masking probability must be between 0 and 1 (e.g. 0.15), not {self.mlm_probability}."
            )
        if self.mask_replace < 0 or self.random_replace < 0 or self.mask_replace + self.random_replace > 1:
            raise UserError(
                "The [MASK] and random shares must be 0 or more and add up to at most 1 (e.g. 0.8 and 0.1)."
            )
        if not 16 <= self.max_length <= 8192:
            raise UserError(
                f"Max length {self.max_length} is out of range: use 16 to 512 for BERT-like models."
            )
        if not 0.02 <= self.held_out_fraction <= 0.05:
            raise UserError(
                f"Hold out 2 to 5 % of the text for evaluation, not {self.held_out_fraction:.0%}."
            )
        if self.alpha < 0 or self.beta < 0 or (self.alpha == 0 and (self.beta == 0 or not self.nsp)):
            raise UserError("The loss weights α and β must be 0 or more, and the loss must weigh something.")

    @property
    def eval_seed(self) -> int:
        return self.seed + EVAL_SEED_OFFSET

    def objective(self) -> str:
        """The objective in words (said at the start of a run and in the wizard)."""
        if self.whole_words:
            masking = f"{self.mlm_probability:.0%} of the words masked whole (every piece becomes [MASK])"
        else:
            keep = 1 - self.mask_replace - self.random_replace
            masking = (
                f"{self.mlm_probability:.0%} of the tokens masked "
                f"({self.mask_replace:.0%} [MASK] / {self.random_replace:.0%} random / {keep:.0%} unchanged)"
            )
        text = f"masked-LM, {masking}, sequences of up to {self.max_length} tokens packed from consecutive sentences"
        if self.nsp:
            text += f"; next-sentence prediction (50 % random next), loss = {self.alpha:g}·MLM + {self.beta:g}·NSP"
        return text


@dataclass
class PretrainResult(RunResult):
    """What the Results step shows; saved as results.json in the run folder."""

    before: dict = field(default_factory=dict)  # eval_* of the starting model on the same held-out masks
    probes_before: list[dict] = field(default_factory=list)  # [{"text", "predictions": [[token, p], ...]}]
    probes_after: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was done to the model (a head added, ...)
