"""What a next-token explanation is about: a causal LM's prompt (or an encoder-decoder's source) and the
log-probability of the token that comes next, or of one token rather than another.

The inputs are the family adapter's own (a causal LM's prompt after its BOS, an encoder-decoder's source
with the decoder at its start token), so the explained number is the distribution the Generate tab shows.
"Why A rather than B" is log P(A) - log P(B), which equals logit(A) - logit(B): the rest of the
vocabulary drops out.
"""

from __future__ import annotations

import inspect
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.explain.inputs import Encoded, Target
from lmstudio_app.core.explain.words import wordpiece_word_ids
from lmstudio_app.core.models.family import FamilyAdapter

KIND = "next-token"


def token_text(tokenizer: Any, token_id: int) -> str:
    """A token as the user reads it: the decoded piece without its leading space ("cat" for "Ġcat")."""
    text = tokenizer.decode([int(token_id)]).strip()
    return text or repr(tokenizer.decode([int(token_id)])) or f"[id {token_id}]"


def token_id(loaded: Any, token: str) -> int:
    """The id of a token named by the user: the word as it would follow the prompt (with the space that
    starts a word, GPT-2's Ġ), else as written, else a vocabulary entry typed exactly (Ġcat, ##ing)."""
    tokenizer = loaded.tokenizer
    word = token.strip()
    if not word:
        raise UserError("The token to explain is empty.")
    for form in (" " + word, word):
        ids = tokenizer(form, add_special_tokens=False)["input_ids"]
        if len(ids) == 1 and ids[0] != tokenizer.unk_token_id:
            return int(ids[0])
    vocab = tokenizer.get_vocab()
    if word in vocab:
        return int(vocab[word])
    pieces = tokenizer.tokenize(" " + word)
    raise UserError(
        f"{word!r} is not one token for {loaded.name} (it splits into {' '.join(pieces)}): name a single "
        "token, such as its first piece."
    )


def _alignment(tokenizer: Any, text: str, ids: list[int], tokens: list[str]) -> tuple[list, list | None]:
    """Word ids and character offsets for the model's ids: the text's own tokens are found among them, and
    what the adapter added around them (BOS, </s>) belongs to no word."""
    fast = bool(getattr(tokenizer, "is_fast", False))
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=fast)
    plain = list(enc["input_ids"])
    start = next((i for i in range(len(ids) - len(plain) + 1) if ids[i : i + len(plain)] == plain), None)
    if not fast or start is None:
        specials = set(tokenizer.all_special_ids)
        return wordpiece_word_ids(tokens, [i in specials for i in ids]), None
    word_ids: list[int | None] = [None] * len(ids)
    offsets: list[tuple[int, int]] = [(0, 0)] * len(ids)
    for j, (word, span) in enumerate(zip(enc.word_ids(), enc["offset_mapping"], strict=True)):
        word_ids[start + j], offsets[start + j] = word, tuple(span)
    return word_ids, offsets


def encode_prompt(loaded: Any, adapter: FamilyAdapter, text: str) -> Encoded:
    """The attributed tokens (a causal LM's prompt, an encoder-decoder's source) and the other inputs."""
    if not text or not text.strip():
        raise UserError("Type a prompt whose next token is to be explained.")
    inputs = adapter.encode(text)
    ids = inputs.pop("input_ids")
    limit = adapter.context_length
    if limit is not None and ids.shape[1] > limit:
        raise UserError(
            f"The text is {ids.shape[1]} tokens long; this model reads at most {limit}. Shorten it."
        )
    accepted = set(inspect.signature(loaded.model.forward).parameters)
    id_list = ids[0].tolist()
    tokens = list(loaded.tokenizer.convert_ids_to_tokens(id_list))
    word_ids, offsets = _alignment(loaded.tokenizer, text, id_list, tokens)
    specials = set(loaded.tokenizer.all_special_ids)
    return Encoded(
        ids=ids,
        extra={k: v for k, v in inputs.items() if k in accepted},
        tokens=tokens,
        special=[w is None or i in specials for w, i in zip(word_ids, id_list, strict=True)],
        word_ids=word_ids,
        offsets=offsets,
        truncated=False,
        text=text,
    )


def next_token_target(loaded: Any, encoded: Encoded, token: str | None, versus: str | None) -> Target:
    """log P(token next), the predicted token's when `token` is None; minus log P(versus) for a contrast."""
    import torch

    if token:
        a = token_id(loaded, token)
    else:
        with torch.no_grad():
            a = int(loaded.model(input_ids=encoded.ids, **encoded.extra).logits[0, -1].argmax())
    b = token_id(loaded, versus) if versus else None
    if b == a:
        raise UserError(
            f"{token_text(loaded.tokenizer, a)!r} against itself explains nothing: name another token."
        )

    def score(logits: Any) -> Any:
        logp = logits[:, -1].float().log_softmax(-1)
        return logp[:, a] - logp[:, b] if b is not None else logp[:, a]

    name = token_text(loaded.tokenizer, a)
    details: dict[str, Any] = {"target": {"id": a, "token": name}}
    if b is not None:
        details["versus"] = {"id": b, "token": token_text(loaded.tokenizer, b)}
        name = f"{name} vs {details['versus']['token']}"
    return Target(kind=KIND, name=name, score=score, position=-1, details=details)
