"""What an explanation is about: the tokenized text, the baseline, and the number being explained.

The number is a log-probability: of a class for a classifier, of a candidate word at the mask for a
masked-LM, or the difference of two candidates' log-probabilities for "why A rather than B" (which
equals the difference of their logits, so the softmax over the rest of the vocabulary drops out).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.explain.words import wordpiece_word_ids
from lmstudio_app.core.models.registry import HEAD_CLS, HEAD_MLM

MAX_TOKENS = 512
BASELINES = ("pad", "mask")
_MASK_SPELLINGS = re.compile(r"\[mask\]|<mask>", re.IGNORECASE)


@dataclass
class Encoded:
    """One tokenized text on the model's device, plus what the views and word grouping need."""

    ids: Any  # LongTensor (1, n)
    extra: dict[str, Any]  # attention_mask / token_type_ids the model's forward accepts
    tokens: list[str]
    special: list[bool]
    word_ids: list[int | None]
    offsets: list[tuple[int, int]] | None
    truncated: bool
    text: str


@dataclass(frozen=True)
class Target:
    """The scalar being explained, as a function of the model's output logits -> (batch,)."""

    kind: str  # "class", "candidate" or "next-token"
    name: str  # class label, candidate, or "A vs B"
    score: Callable[[Any], Any]
    position: int = 0  # the token whose output is explained: [CLS] (0), the mask, or the last (-1)
    details: dict[str, Any] = field(default_factory=dict)  # what the JSON adds (a next token's ids)


def check_model(loaded: Any, candidate: str | None) -> None:
    """The head the request needs is there; otherwise one line naming what to load or pass."""
    if loaded.model is None or loaded.tokenizer is None:
        raise UserError(f"{loaded.name} has been unloaded: load it again in the Models tab.")
    if candidate is not None:
        if not loaded.has_head(HEAD_MLM):
            raise UserError(
                f"{loaded.name} has no masked-LM head, so it cannot score a candidate word: "
                "use a masked-LM model (e.g. the embedded minilm-mlm) or drop --candidate."
            )
        return
    if not loaded.has_head(HEAD_CLS):
        hint = (
            "it is a masked-LM: give a candidate word (--candidate WORD) and a text with one [MASK]"
            if loaded.has_head(HEAD_MLM)
            else "load a fine-tuned classifier or a masked-LM model"
        )
        raise UserError(f"{loaded.name} has no classification head: {hint}.")


def encode(loaded: Any, text: str, *, mask: bool = False) -> Encoded:
    """Tokenize `text` (truncated to the model's limit) with word ids and character offsets."""
    tokenizer, model = loaded.tokenizer, loaded.model
    if not text or not text.strip():
        raise UserError("Type a text to explain.")
    if mask:
        if tokenizer.mask_token is None:
            raise UserError(f"{loaded.name}'s tokenizer has no mask token.")
        text = _MASK_SPELLINGS.sub(tokenizer.mask_token, text)
    limit = token_limit(model)
    fast = bool(getattr(tokenizer, "is_fast", False))
    full_length = len(tokenizer(text, truncation=False, verbose=False)["input_ids"])
    enc = tokenizer(text, truncation=True, max_length=limit, return_tensors="pt", return_offsets_mapping=fast)
    ids = enc["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(ids[0].tolist())
    specials = set(tokenizer.all_special_ids)
    special = [i in specials for i in ids[0].tolist()]
    if fast:
        word_ids = enc.word_ids(0)
        offsets = [tuple(o) for o in enc["offset_mapping"][0].tolist()]
    else:
        word_ids, offsets = wordpiece_word_ids(tokens, special), None
    return Encoded(
        ids=ids.to(loaded.device),
        extra=extra_inputs(loaded, enc),
        tokens=list(tokens),
        special=special,
        word_ids=list(word_ids),
        offsets=offsets,  # type: ignore[arg-type]
        truncated=full_length > limit,
        text=text,
    )


def token_limit(model: Any) -> int:
    """The most tokens one explained input may have: the model's positions, at most MAX_TOKENS."""
    return min(MAX_TOKENS, int(getattr(model.config, "max_position_embeddings", MAX_TOKENS) or MAX_TOKENS))


def extra_inputs(loaded: Any, enc: Any) -> dict[str, Any]:
    """The attention mask and token types of a tokenizer's output that the model's forward accepts."""
    accepted = set(inspect.signature(loaded.model.forward).parameters)
    return {
        k: enc[k].to(loaded.device)
        for k in ("attention_mask", "token_type_ids")
        if k in enc and k in accepted
    }


def baseline_ids(loaded: Any, encoded: Encoded, baseline: str) -> Any:
    """The input with every ordinary token replaced by [PAD] or [MASK]; [CLS], [SEP] (and masks) kept.
    A tokenizer without a pad token (GPT-2's) pads with its end-of-text token, as `generate` does."""
    import torch

    if baseline not in BASELINES:
        raise UserError(f"Unknown baseline {baseline!r}: use one of {', '.join(BASELINES)}.")
    tokenizer = loaded.tokenizer
    fill = tokenizer.pad_token_id if baseline == "pad" else tokenizer.mask_token_id
    if fill is None and baseline == "pad":
        fill = tokenizer.eos_token_id
    if fill is None:
        other = "mask" if baseline == "pad" else "pad"
        raise UserError(f"{loaded.name}'s tokenizer has no {baseline} token: use the {other} baseline.")
    keep = torch.tensor([encoded.special], device=encoded.ids.device)
    return torch.where(keep, encoded.ids, torch.full_like(encoded.ids, fill))


def output_logits(out: Any) -> Any:
    """Logits of a classifier or masked-LM output (pre-training models call them prediction_logits); an
    extractive-QA output's start and end logits as one (batch, tokens, 2) tensor, so targets index it."""
    import torch

    logits = getattr(out, "logits", None)
    if logits is not None:
        return logits
    if getattr(out, "start_logits", None) is not None:
        return torch.stack([out.start_logits, out.end_logits], dim=-1)
    return out.prediction_logits


def labels_of(model: Any) -> list[str]:
    n = int(getattr(model.config, "num_labels", 0) or 0)
    id2label = getattr(model.config, "id2label", None) or {}
    return [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(n)]


def resolve_label(model: Any, label: str | None, what: str = "label") -> int | None:
    """The class index for a label name (exact, then case-insensitive) or number; None = predicted.
    `what` names the labels in the error (a tagger's are tags)."""
    if label is None or not str(label).strip():
        return None
    names = labels_of(model)
    wanted = str(label).strip()
    for match in (lambda n: n == wanted, lambda n: n.lower() == wanted.lower()):
        hits = [i for i, n in enumerate(names) if match(n)]
        if hits:
            return hits[0]
    if wanted.isdigit() and int(wanted) < len(names):
        return int(wanted)
    raise UserError(f"Unknown {what} {wanted!r}: this model's {what}s are {', '.join(names)}.")


def class_target(index: int | None, model: Any) -> Target:
    """log P(class) at [CLS]; index None picks each input's own predicted class (grad x input)."""

    def score(logits: Any) -> Any:
        logp = logits.float().log_softmax(-1)
        if index is None:
            return logp.max(-1).values
        return logp[:, index]

    name = "predicted" if index is None else labels_of(model)[index]
    return Target(kind="class", name=name, score=score)


def mask_position(loaded: Any, encoded: Encoded) -> int:
    positions = (encoded.ids[0] == loaded.tokenizer.mask_token_id).nonzero().flatten().tolist()
    if not positions:
        raise UserError(f"The text has no mask: put {loaded.tokenizer.mask_token} where the candidate goes.")
    if len(positions) > 1:
        raise UserError(
            f"The text has {len(positions)} masks: keep exactly one {loaded.tokenizer.mask_token} "
            "to explain a candidate."
        )
    return int(positions[0])


def piece_id(loaded: Any, word: str) -> int:
    """The vocabulary id of a one-piece candidate word (as a word start, in BPE's spelling too)."""
    tokenizer = loaded.tokenizer
    word = word.strip()
    if not word:
        raise UserError("The candidate word is empty.")
    vocab = tokenizer.get_vocab()
    for form in (word, "Ġ" + word, "▁" + word, word.lower(), "Ġ" + word.lower(), "▁" + word.lower()):
        if form in vocab and vocab[form] != tokenizer.unk_token_id:
            return int(vocab[form])
    pieces = tokenizer.tokenize(word)
    raise UserError(
        f"{word!r} is not one word piece for {loaded.name} (it splits into {' '.join(pieces)}): "
        "pick a word its vocabulary has whole."
    )


def candidate_target(loaded: Any, encoded: Encoded, candidate: str, versus: str | None) -> Target:
    """log P(candidate at the mask), or log P(candidate) - log P(versus) for a contrast."""
    position = mask_position(loaded, encoded)
    a = piece_id(loaded, candidate)
    b = piece_id(loaded, versus) if versus else None

    def score(logits: Any) -> Any:
        logp = logits[:, position].float().log_softmax(-1)
        return logp[:, a] - logp[:, b] if b is not None else logp[:, a]

    name = f"{candidate.strip()} vs {versus.strip()}" if versus else candidate.strip()
    return Target(kind="candidate", name=name, score=score, position=position)
