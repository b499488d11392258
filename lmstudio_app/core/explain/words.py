"""Token pieces to whole words: a word's score is the sum of its pieces' scores.

Fast tokenizers know which word each piece came from (`word_ids`) and where it sits in the text
(`offset_mapping`), so a word is shown exactly as the user typed it, whatever the piece spelling
(`##ing`, `Ġword`, `▁word`). Special tokens ([CLS], [SEP], padding) belong to no word.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Words:
    """Whole words of an input: their text, scores, and for every token the word it belongs to."""

    words: list[str]
    scores: np.ndarray  # float64, one per word
    word_of_token: list[int | None]  # index into `words`, None for special tokens


def group_words(
    text: str,
    token_scores: np.ndarray,
    word_ids: list[int | None],
    offsets: list[tuple[int, int]] | None,
    tokens: list[str],
) -> Words:
    """Sum piece scores per word; `word_ids` and `offsets` come from the tokenizer (offsets may be None)."""
    order: dict[int, int] = {}
    spans: list[list[int]] = []
    pieces: list[list[str]] = []
    word_of_token: list[int | None] = []
    for t, wid in enumerate(word_ids):
        if wid is None:
            word_of_token.append(None)
            continue
        if wid not in order:
            order[wid] = len(spans)
            spans.append([10**9, -1])
            pieces.append([])
        w = order[wid]
        word_of_token.append(w)
        pieces[w].append(tokens[t])
        if offsets is not None:
            start, end = offsets[t]
            spans[w] = [min(spans[w][0], start), max(spans[w][1], end)]
    scores = np.zeros(len(spans), dtype=np.float64)
    for t, w in enumerate(word_of_token):
        if w is not None:
            scores[w] += float(token_scores[t])
    words = []
    for w, (start, end) in enumerate(spans):
        if offsets is not None and 0 <= start < end:
            words.append(text[start:end])
        else:
            words.append(join_pieces(pieces[w]))
    return Words(words=words, scores=scores, word_of_token=word_of_token)


def join_pieces(pieces: list[str]) -> str:
    """Best-effort word from WordPiece/BPE/SentencePiece pieces, for tokenizers without offsets."""
    text = "".join(p[2:] if p.startswith("##") else p for p in pieces)
    return text.lstrip("Ġ▁")


def wordpiece_word_ids(tokens: list[str], special: list[bool]) -> list[int | None]:
    """Word ids for a slow WordPiece tokenizer: a `##` piece continues the previous word."""
    ids: list[int | None] = []
    current = -1
    for token, is_special in zip(tokens, special, strict=True):
        if is_special:
            ids.append(None)
            continue
        if not (token.startswith("##") and current >= 0):
            current += 1
        ids.append(current)
    return ids
