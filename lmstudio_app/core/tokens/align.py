"""Words to model inputs: sub-word label alignment and long sentences split into overlapping windows.

A word's label goes on its first sub-word piece; the other pieces get -100 (the loss skips them), or
the same label with `all_pieces`. A sentence longer than the model's limit is not cut: it becomes
windows of whole words that overlap, and each word is *owned* by exactly one window (the overlap is
shared at its middle, so every owned word has context on both sides). Training labels and predictions
both come from the owner, so each word is learned and predicted once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmstudio_app.core.tasks import TaskState, ensure_state

IGNORE = -100  # the label the loss and the metrics skip
OVERLAP = 0.25  # share of a window's pieces repeated in the next one
_CHUNK = 500


@dataclass(frozen=True)
class Window:
    """Words [start, end) go into the model; words [own_start, own_end) take their labels from it."""

    start: int
    end: int
    own_start: int
    own_end: int


def align_labels(
    word_ids: list[int | None], word_labels: list[int], owned: range, all_pieces: bool = False
) -> list[int]:
    """One label per piece: the word's label on its first piece (every piece with `all_pieces`) when the
    window owns the word; -100 on special tokens, later pieces and words owned by another window."""
    out, previous = [], None
    for w in word_ids:
        if w is None or w not in owned or (w == previous and not all_pieces):
            out.append(IGNORE)
        else:
            out.append(word_labels[w])
        previous = w
    return out


def plan_windows(counts: list[int], budget: int, overlap: int) -> list[Window]:
    """Windows of whole words with at most `budget` pieces each (a longer single word is clipped by the
    tokenizer), consecutive ones sharing up to `overlap` pieces; owned ranges tile the sentence."""
    n = len(counts)
    counts = [min(max(1, c), budget) for c in counts]
    windows: list[Window] = []
    start, own = 0, 0
    while True:
        end, used = start, 0
        while end < n and used + counts[end] <= budget:
            used += counts[end]
            end += 1
        if end >= n:
            windows.append(Window(start, n, own, n))
            return windows
        room = min(overlap, budget - counts[end])  # the next window must reach past this one
        nxt = max(start, own) + 1
        while nxt < end and sum(counts[nxt:end]) > room:
            nxt += 1
        middle = (nxt + end + 1) // 2 if nxt < end else end
        windows.append(Window(start, end, own, middle))
        start, own = nxt, middle


@dataclass
class TokenDataset:
    """Encoded windows: piece ids, piece labels (None when predicting), and where each window came from."""

    ids: list[Any]
    labels: list[Any] | None
    sentence_of: list[int]
    windows: list[Window]
    word_ids: list[Any]  # per window and piece: the word's index in the window, -1 for special tokens
    split: int = 0  # sentences that needed more than one window

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        item = {"input_ids": self.ids[i].tolist()}
        if self.labels is not None:
            item["labels"] = self.labels[i].tolist()
        return item


@dataclass
class EncodeOptions:
    max_length: int
    all_pieces: bool = False


def encode_sentences(
    tokenizer: Any,
    sentences: list[list[str]],
    tag_ids: list[list[int]] | None,
    options: EncodeOptions,
    state: TaskState | None = None,
) -> TokenDataset:
    """Windows of every sentence as piece ids (+ aligned labels when `tag_ids` is given)."""
    import numpy as np

    state = ensure_state(state)
    budget = max(1, options.max_length - tokenizer.num_special_tokens_to_add(pair=False))
    overlap = int(budget * OVERLAP)
    out = TokenDataset([], [] if tag_ids is not None else None, [], [], [])
    for first in range(0, len(sentences), _CHUNK):
        state.raise_if_stopped()
        state.progress(
            first / max(1, len(sentences)), f"Tokenizing sentences: {first:,} of {len(sentences):,}"
        )
        chunk = sentences[first : first + _CHUNK]
        bare = tokenizer(chunk, is_split_into_words=True, add_special_tokens=False)
        plans = []
        for j in range(len(chunk)):
            counts = [0] * len(chunk[j])
            for w in bare.word_ids(j):
                if w is not None:
                    counts[w] += 1
            plans.append(plan_windows(counts, budget, overlap))
        words = [chunk[j][w.start : w.end] for j, plan in enumerate(plans) for w in plan]
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=options.max_length)
        k = 0
        for j, plan in enumerate(plans):
            out.split += len(plan) > 1
            for window in plan:
                out.ids.append(np.asarray(enc["input_ids"][k], dtype=np.int32))
                out.sentence_of.append(first + j)
                out.windows.append(window)
                word_ids = enc.word_ids(k)
                out.word_ids.append(np.asarray([-1 if w is None else w for w in word_ids], dtype=np.int32))
                if out.labels is not None:
                    owned = range(window.own_start - window.start, window.own_end - window.start)
                    labels = tag_ids[first + j][window.start : window.end]
                    aligned = align_labels(word_ids, labels, owned, options.all_pieces)
                    out.labels.append(np.asarray(aligned, dtype=np.int64))
                k += 1
    return out


def gather_words(dataset: TokenDataset, piece_values: Any, lengths: list[int]) -> list[list[Any]]:
    """Per sentence, the value (a tag id, a score...) at each word's first piece in its owner window;
    None for a word the tokenizer gave no piece (e.g. a lone control character)."""
    found: list[list[Any]] = [[None] * n for n in lengths]
    for k, window in enumerate(dataset.windows):
        row, values = found[dataset.sentence_of[k]], piece_values[k]
        previous = -1
        for position, w in enumerate(dataset.word_ids[k].tolist()):
            word = window.start + w
            if (
                w >= 0
                and w != previous
                and window.own_start <= word < window.own_end
                and position < len(values)
            ):
                row[word] = values[position]
            previous = w
    return found
