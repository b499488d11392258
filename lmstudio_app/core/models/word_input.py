"""How a word tagger reads a typed text: split into words, then given to a fast tokenizer as pre-split words.

Tagging (core/tokens) and explaining a tag (core/explain) must see the very same words and pieces, or
"word 4" and its tag would differ between the two; so both take the split and the tokenizer from here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import ModelSourceError
from lmstudio_app.core.models.quiet import quiet_transformers

WORD = re.compile(r"\w+(?:['’-]\w+)*|[^\w\s]")  # words with inner hyphens or apostrophes, else one symbol


def words_of(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) character offsets of the words of `text` (span files and typed text alike)."""
    return [(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]


def load_word_tokenizer(path: Path | str) -> Any:
    """A fast tokenizer that takes pre-split words (byte-level BPE ones need add_prefix_space)."""
    import transformers

    with quiet_transformers():
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            if not tokenizer.is_fast:
                raise ModelSourceError(f"{Path(path).name} has no fast tokenizer: word tagging needs one.")
            try:
                tokenizer([["a"]], is_split_into_words=True)
            except ValueError:
                tokenizer = transformers.AutoTokenizer.from_pretrained(
                    path, local_files_only=True, add_prefix_space=True
                )
        except (OSError, ValueError) as exc:
            raise ModelSourceError(
                f"Could not read the tokenizer of {path}: {str(exc).splitlines()[0]}"
            ) from exc
    return tokenizer
