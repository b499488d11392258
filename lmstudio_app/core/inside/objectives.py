"""Pre-training objectives: BERT's masking drawn live and the loss L = α·L_MLM + β·L_NSP on the model.

Masking (Devlin et al. 2019): 15 % of the (non-special) tokens are chosen; of those, 80 % become [MASK],
10 % a random token, 10 % stay as they are, and the model must give the original token back. L_MLM is
the mean cross-entropy over the chosen tokens; L_NSP the cross-entropy of the IsNext/NotNext head on a
sentence pair, for models that have it (BertForPreTraining). Seeded, so a draw can be shown again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.anatomy import Encoded, encode, require_mlm, token_text
from lmstudio_app.core.tasks import TaskState, ensure_state

MASK_RATE = 0.15
SHARES = {"mask": 0.8, "random": 0.1, "keep": 0.1}
IGNORE = -100  # the label of tokens that do not count (transformers' convention)


@dataclass(frozen=True)
class Masking:
    """One draw: the ids the model sees, the labels (original id or -100) and what happened per token."""

    ids: list[int]
    labels: list[int]
    actions: list[str]  # "" (not chosen), "mask", "random" or "keep"


def draw_masking(
    ids: list[int], special: list[bool], mask_id: int, vocab_size: int, rng: np.random.Generator
) -> Masking:
    """BERT's 15 % / 80-10-10 draw over the non-special tokens (at least one token is chosen)."""
    candidates = [i for i, s in enumerate(special) if not s]
    if not candidates:
        raise UserError("The text has no ordinary tokens to mask: type a sentence.")
    count = max(1, round(MASK_RATE * len(candidates)))
    chosen = sorted(rng.choice(candidates, size=count, replace=False).tolist())
    shown, labels, actions = list(ids), [IGNORE] * len(ids), [""] * len(ids)
    specials = {t for t, s in zip(ids, special, strict=True) if s} | {mask_id}
    for i in chosen:
        labels[i] = ids[i]
        u = rng.random()
        if u < SHARES["mask"]:
            actions[i], shown[i] = "mask", mask_id
        elif u < SHARES["mask"] + SHARES["random"]:
            token = int(rng.integers(vocab_size))
            while token in specials:
                token = int(rng.integers(vocab_size))
            actions[i], shown[i] = "random", token
        else:
            actions[i] = "keep"
    return Masking(shown, labels, actions)


@dataclass(frozen=True)
class Weights:
    """L = alpha·L_MLM + beta·L_NSP; is_next says whether sentence B really follows A (NSP's label)."""

    alpha: float = 1.0
    beta: float = 1.0
    seed: int = 0
    is_next: bool = True


@dataclass(frozen=True)
class MaskedToken:
    position: int
    original: str
    shown: str
    action: str
    loss: float  # -log p(original)
    probability: float
    predicted: str  # the model's most likely token there


@dataclass(frozen=True)
class Objectives:
    model: str
    tokens: list[str]  # the text as written
    shown: list[str]  # the text as the model sees it after masking
    masking: Masking
    masked: list[MaskedToken]
    l_mlm: float
    l_nsp: float | None  # None without an NSP head or without sentence B
    p_is_next: float | None
    weights: Weights
    note: str = ""
    encoded: Encoded | None = field(default=None, repr=False, compare=False)

    @property
    def total(self) -> float:
        return self.weights.alpha * self.l_mlm + (
            self.weights.beta * self.l_nsp if self.l_nsp is not None else 0.0
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "tokens": self.tokens,
            "shown": self.shown,
            "seed": self.weights.seed,
            "masked": [vars(m) for m in self.masked],
            "l_mlm": self.l_mlm,
            "l_nsp": self.l_nsp,
            "p_is_next": self.p_is_next,
            "alpha": self.weights.alpha,
            "beta": self.weights.beta,
            "is_next": self.weights.is_next,
            "loss": self.total,
            "note": self.note,
        }


def _check_weights(weights: Weights) -> None:
    for name, value in (("alpha", weights.alpha), ("beta", weights.beta)):
        if not (math.isfinite(value) and value >= 0):
            raise UserError(f"{name} must be a number >= 0, not {value}.")


def objectives(
    loaded: Any,
    text: str,
    text_b: str | None = None,
    weights: Weights | None = None,
    *,
    state: TaskState | None = None,
) -> Objectives:
    """Draw BERT's masking (seeded), run the model once on it, and compute L_MLM, L_NSP and L."""
    import torch

    state = ensure_state(state)
    weights = weights or Weights()
    _check_weights(weights)
    require_mlm(loaded, "the pre-training objectives")
    tokenizer = loaded.tokenizer
    enc = encode(loaded, text, text_b)
    vocab = int(loaded.model.get_output_embeddings().weight.shape[0])
    masking = draw_masking(
        enc.ids, enc.special, tokenizer.mask_token_id, vocab, np.random.default_rng(weights.seed)
    )
    masked_enc = enc.with_ids(masking.ids)
    state.progress(0.3, "Running the model on the masked text")
    with torch.inference_mode():
        out = loaded.model(**masked_enc.inputs)
    state.raise_if_stopped()
    logits = getattr(out, "prediction_logits", None)
    logits = (out.logits if logits is None else logits)[0].float()
    log_probs = logits.log_softmax(-1)
    masked = []
    for i, label in enumerate(masking.labels):
        if label == IGNORE:
            continue
        lp = float(log_probs[i, label])
        masked.append(
            MaskedToken(
                i,
                enc.tokens[i],
                tokenizer.convert_ids_to_tokens(masking.ids[i]),
                masking.actions[i],
                -lp,
                math.exp(lp),
                token_text(tokenizer, int(log_probs[i].argmax())),
            )
        )
    l_mlm = float(np.mean([m.loss for m in masked]))
    nsp = getattr(out, "seq_relationship_logits", None)
    l_nsp = p_next = None
    note = ""
    if nsp is None:
        note = f"{loaded.name} has no next-sentence head: L = α·L_MLM (bert-base-uncased has both heads)."
    elif not (text_b and text_b.strip()):
        note = "Give a sentence B to see L_NSP (next-sentence prediction needs a pair)."
    else:
        nsp_log = nsp[0].float().log_softmax(-1)  # index 0 = IsNext, 1 = NotNext
        l_nsp = -float(nsp_log[0 if weights.is_next else 1])
        p_next = math.exp(float(nsp_log[0]))
    state.progress(1.0, "Losses ready")
    return Objectives(
        model=loaded.name,
        tokens=enc.tokens,
        shown=tokenizer.convert_ids_to_tokens(masking.ids),
        masking=masking,
        masked=masked,
        l_mlm=l_mlm,
        l_nsp=l_nsp,
        p_is_next=p_next,
        weights=weights,
        note=note,
        encoded=masked_enc,
    )
