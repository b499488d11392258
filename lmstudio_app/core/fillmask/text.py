"""Masks in the user's text: find them, expand `[MASK]x2` into pieces, put words back in.

Pure string work (no torch, no Qt) so the GUI can validate and edit text on its own thread, and the CLI
can refuse bad input before it loads a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lmstudio_app.core.errors import UserError

# Spellings accepted whatever the model's own mask token is (BERT-likes and RoBERTa-likes).
MASK_SPELLINGS = ("[MASK]", "<mask>")
MAX_PIECES = 6
EXAMPLE = "The cat sat on the [MASK]."


@dataclass(frozen=True)
class MaskSpan:
    """One mask as the user typed it: where it is in the text and how many word pieces it stands for."""

    start: int
    end: int
    pieces: int


def _pattern(mask_token: str | None) -> re.Pattern[str]:
    spellings = {*MASK_SPELLINGS, *([mask_token] if mask_token else [])}
    alternatives = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
    return re.compile(rf"(?:{alternatives})(?:[x×](\d+))?", re.IGNORECASE)


def find_masks(text: str, mask_token: str | None = None) -> list[MaskSpan]:
    """Every mask in `text`, in order; `[MASK]x3` is one mask for a word of three pieces."""
    spans = []
    for match in _pattern(mask_token).finditer(text):
        pieces = int(match.group(1)) if match.group(1) else 1
        if not 1 <= pieces <= MAX_PIECES:
            raise UserError(
                f"A mask can stand for 1 to {MAX_PIECES} word pieces, not {pieces} ({match.group(0)})."
            )
        spans.append(MaskSpan(match.start(), match.end(), pieces))
    return spans


def require_masks(text: str, mask_token: str | None = None) -> list[MaskSpan]:
    """The masks in `text`, or a UserError that says how to write one."""
    if not text.strip():
        raise UserError(f"The text is empty: type a sentence with a mask, e.g. '{EXAMPLE}'")
    spans = find_masks(text, mask_token)
    if not spans:
        shown = mask_token or MASK_SPELLINGS[0]
        raise UserError(f"No mask in the text: put {shown} where a word is missing, e.g. '{EXAMPLE}'")
    return spans


def model_text(text: str, spans: list[MaskSpan], mask_token: str) -> str:
    """The text the tokenizer sees: each mask in the model's own spelling, repeated once per piece."""
    out, last = [], 0
    for span in spans:
        out += [text[last : span.start], mask_token * span.pieces]
        last = span.end
    out.append(text[last:])
    return "".join(out)


def display_word(word: str) -> str:
    """A candidate as it goes into the text: WordPiece's '##' continuation marker removed."""
    return word[2:] if word.startswith("##") and len(word) > 2 else word


def fill_text(text: str, spans: list[MaskSpan], words: dict[int, str]) -> str:
    """`text` with mask number i (0-based) replaced by words[i]; masks without a word stay as they are."""
    out, last = [], 0
    for i, span in enumerate(spans):
        out.append(text[last : span.start])
        out.append(display_word(words[i]) if i in words else text[span.start : span.end])
        last = span.end
    out.append(text[last:])
    return "".join(out)
