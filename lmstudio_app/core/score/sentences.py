"""How probable is a sentence: pseudo-log-likelihood for masked LMs, the chain rule for causal LMs.

- `pll` (Salazar et al. 2020): mask each token in turn and add up the natural-log probability of the
  true token. All masked copies of a sentence go through the model as one batch (cut into chunks of
  `max_batch` rows, so a long sentence never needs more memory than a chunk).
- `pll-word` (minicons' `within_word_l2r`, Kauf & Ivanova 2023): when scoring piece i of a word, the
  later pieces of the same word are masked too, so a word split into pieces cannot be read off its own
  remaining pieces (plain PLL's bias towards multi-piece words).
- `chain`: Σ log P(w_i | w_<i) in one forward pass. The first token is conditioned on the tokenizer's
  beginning-of-sequence token, prepended when the tokenizer has one and does not add it itself; without
  one the first token has no context and is not scored (nor is any special token, in any method).
- `conditional` (encoder-decoders): log P(target | source), the chain rule over the target's tokens in the
  decoder, with the source (empty unless given) read by the encoder, in one forward pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.score.lm import CAUSAL, MASKED, SEQ2SEQ, MaskedLogProbs, encode, lm_family, token_label
from lmstudio_app.core.tasks import TaskState, ensure_state

METHODS = ("pll", "pll-word", "chain", "conditional")
# The methods each family can score with; the first is its default.
FAMILY_METHODS = {MASKED: ("pll", "pll-word"), CAUSAL: ("chain",), SEQ2SEQ: ("conditional",)}
MAX_TOP_K = 100


@dataclass
class TokenScore:
    """One scored token: natural-log probability, surprisal in bits, rank among the vocabulary (1 = the
    model's top choice) and the top alternatives as (token, probability)."""

    token: str
    log_prob: float
    surprisal_bits: float
    rank: int
    top: list[tuple[str, float]]

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "log_prob": self.log_prob,
            "surprisal_bits": self.surprisal_bits,
            "rank": self.rank,
            "top": [{"token": t, "prob": p} for t, p in self.top],
        }


@dataclass
class SentenceScore:
    """A sentence's total log-probability (sum over its scored tokens), the mean per token and the
    (pseudo-)perplexity exp(-mean)."""

    text: str
    method: str
    tokens: list[TokenScore]
    log_prob: float
    mean_log_prob: float
    perplexity: float

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "log_prob": self.log_prob,
            "mean_log_prob": self.mean_log_prob,
            "perplexity": self.perplexity,
            "tokens": [t.to_json() for t in self.tokens],
        }


def default_method(model: Any) -> str:
    """ "pll" for masked LMs, "chain" for causal LMs, "conditional" for encoder-decoders; a UserError for
    a model without an LM head."""
    return FAMILY_METHODS[lm_family(model)][0]


def resolve_method(model: Any, tokenizer: Any, method: str | None) -> str:
    """The method to use: the model's default when None; a UserError when it does not fit the model."""
    family = lm_family(model)
    if method is None:
        method = FAMILY_METHODS[family][0]
    if method not in METHODS:
        raise UserError(f"Unknown method {method!r}: use {', '.join(METHODS)}.")
    if method not in FAMILY_METHODS[family]:
        needs = next(f for f, methods in FAMILY_METHODS.items() if method in methods)
        kind = {MASKED: "a masked", CAUSAL: "a causal", SEQ2SEQ: "an encoder-decoder"}[needs]
        raise UserError(
            f"The {method} method needs {kind} language model; this model scores with "
            f"{' or '.join(FAMILY_METHODS[family])}."
        )
    if family == MASKED and tokenizer.mask_token_id is None:
        raise UserError(
            "This model's tokenizer has no mask token, so it cannot score with pseudo-likelihood."
        )
    if method == "pll-word" and not getattr(tokenizer, "is_fast", False):
        raise UserError("pll-word needs a fast tokenizer (to know which pieces form a word); use pll.")
    return method


def check_texts(texts: list[str]) -> None:
    """A UserError for no sentence or a blank one (before any model work)."""
    if not texts:
        raise UserError("No sentence to score: type one, or give a file with one sentence per line.")
    for number, text in enumerate(texts, 1):
        if not text.strip():
            raise UserError(f"Sentence {number} is empty: give each sentence some text.")


def score_sentences(
    model: Any,
    tokenizer: Any,
    texts: list[str],
    method: str | None = None,
    *,
    top_k: int = 5,
    max_batch: int = 64,
    source: str = "",
    state: TaskState | None = None,
) -> list[SentenceScore]:
    """Score each text with `method` (default: the model family's); see the module docstring. `source` is
    what an encoder-decoder's encoder reads (`conditional`); other methods ignore it."""
    state = ensure_state(state)
    check_texts(texts)
    if not 0 <= top_k <= MAX_TOP_K:
        raise UserError(f"top-k must be between 0 and {MAX_TOP_K}, not {top_k}.")
    if max_batch < 1:
        raise UserError(f"The batch size must be at least 1, not {max_batch}.")
    method = resolve_method(model, tokenizer, method)
    masked = MaskedLogProbs(model, tokenizer) if method in FAMILY_METHODS[MASKED] else None
    out = []
    for number, text in enumerate(texts):
        state.raise_if_stopped()
        state.progress(number / len(texts), f"scoring sentence {number + 1} of {len(texts)}")
        if method == "conditional":
            tokens = _conditional(model, tokenizer, source, text, top_k)
        elif masked is None:
            tokens = _chain(model, tokenizer, text, top_k)
        else:
            tokens = _pll(
                masked, tokenizer, text, method == "pll-word", top_k=top_k, max_batch=max_batch, state=state
            )
        out.append(_sentence(text, method, tokens))
    state.progress(1.0, f"scored {len(texts)} sentence{'s' if len(texts) != 1 else ''}")
    return out


def _sentence(text: str, method: str, tokens: list[TokenScore]) -> SentenceScore:
    if not tokens:
        raise UserError(f"'{text}' has no token this model can score; give a longer sentence.")
    total = sum(t.log_prob for t in tokens)
    mean = total / len(tokens)
    perplexity = math.exp(-mean) if -mean < 700 else math.inf
    return SentenceScore(text, method, tokens, total, mean, perplexity)


def token_score(tokenizer: Any, log_probs: Any, true_id: int, top_k: int) -> TokenScore:
    """The TokenScore of `true_id` under one log-softmax row."""
    value = float(log_probs[true_id])
    rank = 1 + int((log_probs > log_probs[true_id]).sum())
    top = []
    if top_k:
        values, ids = log_probs.topk(top_k)
        top = [
            (token_label(tokenizer, i), math.exp(v))
            for v, i in zip(values.tolist(), ids.tolist(), strict=True)
        ]
    return TokenScore(token_label(tokenizer, true_id), value, -value / math.log(2), rank, top)


def masked_copies(
    ids: list[int], positions: list[int], mask_id: int, words: list[Any] | None
) -> list[list[int]]:
    """One copy of `ids` per position with that position masked; with `words` (word id per position),
    also the later pieces of the same word."""
    rows = []
    for p in positions:
        row = list(ids)
        row[p] = mask_id
        if words is not None and words[p] is not None:
            for q in range(p + 1, len(ids)):
                if words[q] == words[p]:
                    row[q] = mask_id
        rows.append(row)
    return rows


def _pll(
    masked: MaskedLogProbs,
    tokenizer: Any,
    text: str,
    by_word: bool,
    *,
    top_k: int,
    max_batch: int,
    state: TaskState,
) -> list[TokenScore]:
    ids, special = encode(tokenizer, text, masked.model)
    positions = [i for i, s in enumerate(special) if not s]
    words = tokenizer(text).word_ids() if by_word else None
    rows = masked_copies(ids, positions, tokenizer.mask_token_id, words)
    tokens: list[TokenScore] = []
    for start in range(0, len(rows), max_batch):
        state.raise_if_stopped()
        chunk = positions[start : start + max_batch]
        log_probs = masked(rows[start : start + max_batch], chunk)
        tokens += [
            token_score(tokenizer, row, ids[p], top_k) for row, p in zip(log_probs, chunk, strict=True)
        ]
    return tokens


def _chain(model: Any, tokenizer: Any, text: str, top_k: int) -> list[TokenScore]:
    import torch

    ids, special = encode(tokenizer, text, model, bos=True)
    scored = [i for i in range(1, len(ids)) if not special[i]]
    device = next(model.parameters()).device
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids], device=device)).logits[0]
        log_probs = logits.float().log_softmax(-1).cpu()
    return [token_score(tokenizer, log_probs[i - 1], ids[i], top_k) for i in scored]


def _conditional(model: Any, tokenizer: Any, source: str, text: str, top_k: int) -> list[TokenScore]:
    """log P(text | source): the decoder reads the target shifted right (the model's own shift, from
    `labels`), so position i predicts target token i."""
    import torch

    encoded = tokenizer(source, return_tensors="pt", truncation=True)
    target = tokenizer(text_target=text, return_special_tokens_mask=True)
    ids, special = list(target["input_ids"]), [bool(s) for s in target["special_tokens_mask"]]
    device = next(model.parameters()).device
    with torch.inference_mode():
        logits = model(
            input_ids=encoded["input_ids"].to(device),
            attention_mask=encoded["attention_mask"].to(device),
            labels=torch.tensor([ids], device=device),
        ).logits[0]
        log_probs = logits.float().log_softmax(-1).cpu()
    return [token_score(tokenizer, log_probs[i], ids[i], top_k) for i in range(len(ids)) if not special[i]]
