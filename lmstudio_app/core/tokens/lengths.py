"""How long tagged sentences are in a model's sub-word pieces, and which ones a max length splits.

A sentence longer than the max length is not cut: training and prediction split it into overlapping
windows of whole words (align.py). The wizard says which sentences that is, by line, before training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lmstudio_app.core.data.labeled import suggest_max_length
from lmstudio_app.core.jsonio import read_json
from lmstudio_app.core.tasks import TaskState, ensure_state
from lmstudio_app.core.tokens.data import TaggedData

_CHUNK = 1000
MEASURED = 50_000  # sentences measured at most (spread over the file); more only cost time


@dataclass
class SentenceLengths:
    """Pieces per measured sentence (special tokens included), the line each starts on, the model's own
    limit (its position embeddings) and the max length suggested for the data."""

    lengths: list[int]
    lines: list[int]
    limit: int
    suggested: int
    sampled: bool = False  # only a spread-out sample of the sentences was measured

    def longer_than(self, max_length: int) -> list[tuple[int, int]]:
        """(line, pieces) of every measured sentence that needs more than one window at `max_length`."""
        return [(line, n) for n, line in zip(self.lengths, self.lines, strict=True) if n > max_length]


def measure_sentences(spec: str, data: TaggedData, state: TaskState | None = None) -> SentenceLengths:
    """Sub-word pieces of each sentence with the tokenizer of `spec` (a name, folder or hub id in the cache)."""
    from lmstudio_app.core.models.local import resolve_local
    from lmstudio_app.core.models.word_input import load_word_tokenizer

    state = ensure_state(state)
    source = resolve_local(spec)
    tokenizer = load_word_tokenizer(source.path)
    n = len(data.sentences)
    step = max(1, math.ceil(n / MEASURED))
    picked = list(range(0, n, step))
    specials = tokenizer.num_special_tokens_to_add(pair=False)
    lengths: list[int] = []
    for first in range(0, len(picked), _CHUNK):
        state.raise_if_stopped()
        state.progress(first / max(1, len(picked)), f"Measuring sentences: {first:,} of {len(picked):,}")
        chunk = [data.sentences[i] for i in picked[first : first + _CHUNK]]
        enc = tokenizer(chunk, is_split_into_words=True, add_special_tokens=False, verbose=False)
        lengths += [len(ids) + specials for ids in enc["input_ids"]]
    lines = [data.lines[i] if i < len(data.lines) else i + 1 for i in picked]
    limit = int(min(512, getattr(tokenizer, "model_max_length", 512) or 512))
    limit = _position_limit(source.path, limit)
    return SentenceLengths(lengths, lines, limit, suggest_max_length(lengths, cap=limit), step > 1)


def _position_limit(path: object, fallback: int) -> int:
    """The model's position embeddings, when its config says (a tokenizer's own limit can be a huge
    placeholder number)."""
    value = read_json(f"{path}/config.json").get("max_position_embeddings")
    return int(min(fallback, value)) if isinstance(value, int) and value > 0 else fallback
