"""Per-tokenizer facts about every token id (its text, special or word-continuing), cached per tokenizer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Vocab:
    """Per-tokenizer facts about every id: its text, whether it is special or continues a word."""

    tokens: list[str]
    special: Any  # BoolTensor (vocab,)
    continuation: Any  # BoolTensor (vocab,)
    scheme: str  # wordpiece | bpe | sentencepiece | unknown

    @property
    def word_start(self) -> Any:
        return ~(self.special | self.continuation)


_CACHE: dict[int, tuple[Any, Vocab]] = {}


def vocab_of(tokenizer: Any, size: int) -> Vocab:
    import torch

    cached = _CACHE.get(id(tokenizer))
    if cached is not None and cached[0] is tokenizer and len(cached[1].tokens) == size:
        return cached[1]
    known = min(size, len(tokenizer))
    tokens = [t or "" for t in tokenizer.convert_ids_to_tokens(list(range(known)))] + [""] * (size - known)
    special = torch.zeros(size, dtype=torch.bool)
    special[[i for i in tokenizer.all_special_ids if i < size]] = True
    special[known:] = True
    special[[i for i, t in enumerate(tokens) if not t]] = True  # ids the tokenizer cannot spell
    share = {p: sum(t.startswith(p) for t in tokens) / max(1, known) for p in ("##", "Ġ", "▁")}
    if share["##"] > 0.01:
        scheme, cont = "wordpiece", [t.startswith("##") for t in tokens]
    elif share["Ġ"] > 0.1 or share["▁"] > 0.1:
        prefix = "Ġ" if share["Ġ"] >= share["▁"] else "▁"
        scheme = "bpe" if prefix == "Ġ" else "sentencepiece"
        cont = [not t.startswith(prefix) and t[:1].isalnum() for t in tokens]
    else:
        scheme, cont = "unknown", [False] * size
    vocab = Vocab(tokens, special, torch.tensor(cont, dtype=torch.bool) & ~special, scheme)
    if len(_CACHE) > 8:
        _CACHE.clear()
    _CACHE[id(tokenizer)] = (tokenizer, vocab)
    return vocab


def piece_text(tokenizer: Any, tokens: list[str]) -> str:
    return tokenizer.convert_tokens_to_string(tokens).strip() if all(tokens) else ""


def token_text(tokenizer: Any, vocab: Vocab, token_id: int) -> str:
    """A candidate as the user reads it: decoded text, else the raw token, else its id."""
    token = vocab.tokens[token_id]
    return piece_text(tokenizer, [token]) or token or f"[id {token_id}]"
