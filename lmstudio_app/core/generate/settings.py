"""How to decode: the strategy and its knobs, checked before any model runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmstudio_app.core.errors import UserError

STRATEGIES = ("greedy", "sample", "beam")


@dataclass
class GenerateSettings:
    """The decoding settings; `top_k` 0 and `top_p` 1 switch those filters off."""

    strategy: str = "greedy"
    max_new_tokens: int = 40
    min_new_tokens: int = 0
    temperature: float = 1.0
    top_k: int = 50
    top_p: float = 1.0
    num_beams: int = 4
    repetition_penalty: float = 1.0
    seed: int | None = None
    chat: bool = False

    def validate(self, model_max_length: int | None = None) -> None:
        """A UserError (one line, saying what to use) for settings no decoder can follow."""
        if self.strategy not in STRATEGIES:
            raise UserError(f"Unknown strategy {self.strategy!r}: choose one of {', '.join(STRATEGIES)}.")
        if self.max_new_tokens < 1 or self.min_new_tokens < 0:
            raise UserError(
                "Lengths cannot be negative: max new tokens must be at least 1, min new tokens 0 or more."
            )
        if self.min_new_tokens > self.max_new_tokens:
            raise UserError(
                f"min new tokens ({self.min_new_tokens}) is more than max new tokens ({self.max_new_tokens})."
            )
        if model_max_length is not None and self.max_new_tokens >= model_max_length:
            raise UserError(
                f"max new tokens ({self.max_new_tokens}) does not fit this model's context of "
                f"{model_max_length} tokens: ask for fewer."
            )
        if self.strategy == "sample" and not self.temperature > 0:
            raise UserError(
                f"Temperature must be above 0 for sampling (got {self.temperature:g}); use greedy instead."
            )
        if self.top_k < 0 or not 0 < self.top_p <= 1:
            raise UserError("top-k must be 0 (off) or more and top-p between 0 (excluded) and 1.")
        if self.strategy == "beam" and self.num_beams < 2:
            raise UserError(f"Beam search needs at least 2 beams (got {self.num_beams}).")
        if not self.repetition_penalty > 0:
            raise UserError(
                f"The repetition penalty must be above 0 (1 is none; got {self.repetition_penalty:g})."
            )

    def generate_kwargs(self) -> dict[str, Any]:
        """transformers' generate() arguments for these settings (scores and raw logits included)."""
        kwargs: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "min_new_tokens": self.min_new_tokens,
            "repetition_penalty": self.repetition_penalty,
            "do_sample": self.strategy == "sample",
            "num_beams": self.num_beams if self.strategy == "beam" else 1,
            "output_scores": True,
            "output_logits": True,
            "return_dict_in_generate": True,
        }
        if self.strategy == "sample":
            kwargs.update(temperature=self.temperature, top_k=self.top_k, top_p=self.top_p)
        return kwargs
