"""Generation with transformers' own `generate`, token by token: each token with its probability in the
distribution the decoder chose from (after the processors, as `output_scores` gives it), the model's own
probability (softmax of the raw logits) and the alternatives, streamed as it is produced and stoppable.

Streaming and stopping go through a StoppingCriteria, which `generate` calls after every new token: it
reports the token and answers the TaskState's stop flag. The raw logits of the step come from a forward
hook, since a criterion only sees the processed scores. Beam search decides its tokens at the end, so its
tokens are reported then.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.generate.next_token import (
    Candidate,
    generating_adapter,
    prompt_inputs,
    token_label,
    top_candidates,
)
from lmstudio_app.core.generate.settings import GenerateSettings
from lmstudio_app.core.models.family import SEQ2SEQ, FamilyAdapter
from lmstudio_app.core.tasks import TaskState, ensure_state

ALTERNATIVES = 5  # the most probable tokens listed beside each generated one


@dataclass
class GeneratedToken:
    id: int
    token: str
    text: str  # the decoded piece as it appears in the output (" cat", "" for an end-of-text token)
    prob: float  # in the distribution the decoder chose from, after the processors
    raw_prob: float  # the model's own softmax
    top: list[Candidate]


@dataclass
class Generation:
    prompt: str
    text: str  # the continuation as it appears after the prompt
    tokens: list[GeneratedToken]
    stopped: bool

    def to_json(self, model_name: str) -> dict[str, Any]:
        return {
            "model": model_name,
            "prompt": self.prompt,
            "text": self.text,
            "tokens": [
                {
                    "id": t.id,
                    "token": t.token,
                    "prob": t.prob,
                    "raw_prob": t.raw_prob,
                    "top": [{"id": c.id, "token": c.token, "prob": c.prob} for c in t.top],
                }
                for t in self.tokens
            ],
        }


class _Text:
    """The output decoded as a whole after each token, so that each piece is what the reader sees appear
    (spaces between WordPiece words, SentencePiece's leading spaces after the prompt)."""

    def __init__(self, tokenizer: Any, prefix: list[int]) -> None:
        self.tokenizer = tokenizer
        self.ids = list(prefix)
        self.start = self._decode()
        self.shown = self.start

    def _decode(self) -> str:
        return self.tokenizer.decode(self.ids, skip_special_tokens=True)

    def add(self, token_id: int) -> str:
        self.ids.append(token_id)
        full = self._decode()
        piece = full[len(self.shown) :] if full.startswith(self.shown) else self.tokenizer.decode([token_id])
        self.shown = full
        return piece

    def continuation(self) -> str:
        return self.shown[len(self.start) :] if self.shown.startswith(self.start) else self.shown


def _token(tokenizer: Any, text: _Text, token_id: int, scores: Any, logits: Any) -> GeneratedToken:
    probs = scores.float().softmax(-1).cpu()
    raw = logits.float().softmax(-1).cpu()
    return GeneratedToken(
        id=token_id,
        token=token_label(tokenizer, token_id),
        text=text.add(token_id),
        prob=float(probs[token_id]),
        raw_prob=float(raw[token_id]),
        top=top_candidates(tokenizer, probs, ALTERNATIVES),
    )


def _generation_config(model: Any, tokenizer: Any, settings: GenerateSettings) -> Any:
    """The model's own generation config with these settings on top, and the ids it needs to stop and pad."""
    config = copy.deepcopy(model.generation_config)
    config.update(**settings.generate_kwargs())
    if config.eos_token_id is None:
        config.eos_token_id = tokenizer.eos_token_id
    if config.pad_token_id is None:
        config.pad_token_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else config.eos_token_id
        )
    return config


def _check_room(adapter: FamilyAdapter, prefix_length: int, settings: GenerateSettings) -> None:
    limit = adapter.context_length
    if limit is not None and prefix_length + settings.max_new_tokens > limit:
        raise UserError(
            f"The prompt is {prefix_length} tokens and {settings.max_new_tokens} more were asked for; this model "
            f"reads at most {limit}: shorten the prompt or ask for fewer new tokens."
        )


def _watch(emit: Callable[[int, Any, Any], None] | None, state: TaskState) -> Any:
    """A StoppingCriteria that reports each new token (unless `emit` is None: beam search) and stops when
    the TaskState says so; the raw logits of each step arrive through its forward hook `hook`."""
    import torch
    from transformers import StoppingCriteria

    class Watch(StoppingCriteria):
        def __init__(self) -> None:
            self.raw: list[Any] = []
            self.stopped = False

        def hook(self, module: Any, args: Any, output: Any) -> None:
            self.raw.append(output.logits[0, -1].detach())

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            if emit is not None:
                emit(int(input_ids[0, -1]), scores[-1][0], self.raw[-1])
            self.stopped = state.should_stop()
            return torch.full((input_ids.shape[0],), self.stopped, dtype=torch.bool, device=input_ids.device)

    return Watch()


def generate(
    model: Any,
    tokenizer: Any,
    prompt: str,
    settings: GenerateSettings,
    *,
    source: str | None = None,
    on_token: Callable[[GeneratedToken], None] | None = None,
    state: TaskState | None = None,
) -> Generation:
    """Continue the prompt (for encoder-decoders: translate/answer the source, the prompt being an optional
    start of the output) with the settings' strategy; `on_token` is called as each token is produced (from
    this thread), and a stop request ends the generation early with stopped=True."""
    import torch
    from transformers import StoppingCriteriaList

    state = ensure_state(state)
    adapter = generating_adapter(model, tokenizer)
    settings.validate(adapter.context_length)
    inputs = prompt_inputs(adapter, prompt, source=source, chat=settings.chat)
    prefix = inputs["decoder_input_ids" if adapter.family == SEQ2SEQ else "input_ids"][0].tolist()
    _check_room(adapter, len(prefix), settings)
    if state.should_stop():
        return Generation(prompt, "", [], True)
    text = _Text(tokenizer, prefix)
    tokens: list[GeneratedToken] = []

    def emit(token_id: int, scores: Any, logits: Any) -> None:
        tokens.append(_token(tokenizer, text, token_id, scores, logits))
        if on_token is not None:
            on_token(tokens[-1])

    beam = settings.strategy == "beam"
    watch = _watch(None if beam else emit, state)
    hook = model.register_forward_hook(watch.hook) if not beam else None
    devices = [adapter.device] if adapter.device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            if settings.seed is not None:
                torch.manual_seed(settings.seed)
            out = model.generate(
                **inputs,
                generation_config=_generation_config(model, tokenizer, settings),
                stopping_criteria=StoppingCriteriaList([watch]),
            )
    finally:
        if hook is not None:
            hook.remove()
    new_ids = out.sequences[0, len(prefix) :].tolist()
    if beam:
        beams = out.beam_indices[0].tolist()
        for step, token_id in enumerate(new_ids):
            emit(token_id, out.scores[step][beams[step]], out.logits[step][beams[step]])
    del tokens[len(new_ids) :]  # a step generate undid (deferred stop checks on MPS) is not output
    return Generation(prompt, text.continuation(), tokens, watch.stopped)
