"""The next-token distribution after a prompt, and the prompt's inputs (chat template, context length)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.family import SEQ2SEQ, FamilyAdapter, adapter_for
from lmstudio_app.core.tasks import TaskState, ensure_state


@dataclass
class Candidate:
    id: int
    token: str
    prob: float


def token_label(tokenizer: Any, token_id: int) -> str:
    """A token as the user reads it: WordPiece's '##ing' as is, byte-level pieces decoded (' the')."""
    raw = tokenizer.convert_ids_to_tokens(int(token_id)) or ""
    if raw.startswith("##"):
        return raw
    return tokenizer.decode([int(token_id)]) or raw or f"[id {token_id}]"


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def generating_adapter(model: Any, tokenizer: Any) -> FamilyAdapter:
    """The model's adapter, or a UserError (one line) for a model that cannot generate."""
    adapter = adapter_for(model, tokenizer)
    adapter.check_can_generate()
    return adapter


def prompt_inputs(
    adapter: FamilyAdapter, prompt: str, *, source: str | None = None, chat: bool = False
) -> dict[str, Any]:
    """The model's inputs for a prompt (for encoder-decoders: the source, and the prompt as the decoder's
    prefix); with `chat`, the text the user wrote is one user turn of the tokenizer's chat template."""
    tokenizer = adapter.tokenizer
    if chat:
        if adapter.family == SEQ2SEQ:
            raise UserError(
                "Chat templates are for causal LMs; an encoder-decoder takes the source as it is."
            )
        if not has_chat_template(tokenizer):
            raise UserError(f"{adapter.name}'s tokenizer has no chat template: generate without chat.")
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        import torch

        ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]], device=adapter.device)
        inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    else:
        inputs = adapter.encode(prompt, source=source)
    limit = adapter.context_length
    for key in ("input_ids", "decoder_input_ids"):
        if limit is not None and key in inputs and inputs[key].shape[1] > limit:
            what = "source" if key == "input_ids" and adapter.family == SEQ2SEQ else "prompt"
            raise UserError(
                f"The {what} is {inputs[key].shape[1]} tokens long; this model reads at most {limit}. Shorten it."
            )
    return inputs


def top_candidates(tokenizer: Any, probs: Any, k: int) -> list[Candidate]:
    """The k most probable tokens of a probability vector, most probable first."""
    values, ids = probs.topk(min(k, probs.shape[-1]))
    return [
        Candidate(int(i), token_label(tokenizer, int(i)), float(p)) for p, i in zip(values, ids, strict=True)
    ]


def next_token_distribution(
    model: Any,
    tokenizer: Any,
    prompt: str,
    *,
    source: str | None = None,
    top_k: int = 10,
    chat: bool = False,
    state: TaskState | None = None,
) -> list[Candidate]:
    """The model's own (unprocessed) top-k next tokens after the prompt, sorted by probability."""
    state = ensure_state(state)
    adapter = generating_adapter(model, tokenizer)
    inputs = prompt_inputs(adapter, prompt, source=source, chat=chat)
    state.raise_if_stopped()
    probs = adapter.next_token_logits(inputs).softmax(-1).cpu()
    state.raise_if_stopped()
    return top_candidates(tokenizer, probs, top_k)
