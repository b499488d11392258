"""Tagged data files: the reader a file's name asks for, and the plan that reads (train, val) again."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.tokens.conll import read_conll
from lmstudio_app.core.tokens.data import TaggedData, read_file_text, split_sentences
from lmstudio_app.core.tokens.jsonl import read_jsonl

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")


def read_tagged(
    path: Path | str, tag_names: list[str] | None = None, *, keep_going: bool = False
) -> TaggedData:
    """CoNLL (any other suffix) or JSONL (.jsonl/.json/.ndjson: token lists or text with spans). With
    `keep_going`, broken sentences are left out and listed in `errors` instead of refused at the first."""
    path = Path(path)
    text = read_file_text(path)
    data = (
        read_jsonl(path, text, tag_names, keep_going)
        if path.suffix.lower() in JSONL_SUFFIXES
        else read_conll(path, text, keep_going)
    )
    if not data.sentences and not data.errors:
        raise DataError(f"{path.name} has no tagged sentences.")
    return data


@dataclass
class TokenDataPlan:
    """Where training and validation sentences come from: enough to read them again on resume."""

    path: str
    val_path: str | None = None
    val_fraction: float = 0.2
    seed: int = 42
    tag_names: list[str] | None = None  # names of integer tags in a JSONL file

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TokenDataPlan:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def build(self, data: TaggedData | None = None) -> tuple[TaggedData, TaggedData]:
        """(train, val) as the plan says; `data` is the training file when already read."""
        full = data if data is not None else read_tagged(self.path, self.tag_names)
        if self.val_path:
            return full, read_tagged(self.val_path, self.tag_names)
        return split_sentences(full, self.val_fraction, self.seed)
