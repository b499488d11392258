"""Minimal pairs: does the model give the acceptable sentence of each pair the higher score?

A pair differs in one grammatical point ("the keys are" / "the keys is"); the model prefers the first
when its (pseudo-)log-likelihood is strictly higher, so a tie counts as wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.paths import resources_dir
from lmstudio_app.core.score.sentences import check_texts, resolve_method, score_sentences
from lmstudio_app.core.tasks import TaskState, ensure_state

HEADER = ("acceptable", "unacceptable")


def example_pairs_path() -> Path:
    """The shipped list of pairs (our own writing), in the same TSV format users give."""
    return resources_dir() / "score" / "minimal_pairs.tsv"


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """(acceptable, unacceptable) per line of a TSV file. Blank lines and lines starting with '#' are
    skipped, and so is a header row "acceptable<TAB>unacceptable"; any other line needs two non-empty
    columns (a UserError names the first line that has not)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text: save the pairs as a UTF-8 TSV file.") from None
    pairs = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        columns = [c.strip() for c in line.split("\t")]
        if tuple(c.lower() for c in columns) == HEADER:
            continue
        if len(columns) != 2 or not all(columns):
            raise UserError(
                f"{path.name} line {number} does not have two columns (acceptable<TAB>unacceptable): {line.strip()[:60]!r}"
            )
        pairs.append((columns[0], columns[1]))
    if not pairs:
        raise UserError(f"{path.name} has no pairs: write acceptable<TAB>unacceptable, one pair per line.")
    return pairs


@dataclass
class PairRow:
    acceptable: str
    unacceptable: str
    acceptable_score: float
    unacceptable_score: float
    preferred_first: bool

    @property
    def margin(self) -> float:
        """How much more probable (in log-probability) the acceptable sentence is; negative when wrong."""
        return self.acceptable_score - self.unacceptable_score

    def to_json(self) -> dict[str, Any]:
        return {
            "acceptable": self.acceptable,
            "unacceptable": self.unacceptable,
            "acceptable_score": self.acceptable_score,
            "unacceptable_score": self.unacceptable_score,
            "margin": self.margin,
            "preferred_first": self.preferred_first,
        }


@dataclass
class PairsResult:
    rows: list[PairRow]
    method: str

    @property
    def pairs(self) -> int:
        return len(self.rows)

    @property
    def preferred_first(self) -> int:
        return sum(r.preferred_first for r in self.rows)

    @property
    def accuracy(self) -> float:
        return self.preferred_first / self.pairs if self.rows else 0.0

    def wrong(self) -> list[PairRow]:
        """The pairs the model gets wrong, the most confidently wrong (lowest margin) first."""
        return sorted((r for r in self.rows if not r.preferred_first), key=lambda r: r.margin)

    def to_json(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "preferred_first": self.preferred_first,
            "accuracy": self.accuracy,
            "rows": [r.to_json() for r in self.rows],
        }


def score_pairs(
    model: Any,
    tokenizer: Any,
    pairs: list[tuple[str, str]],
    method: str | None = None,
    *,
    source: str = "",
    state: TaskState | None = None,
) -> PairsResult:
    """Score both sentences of every pair with `method` (default: the model family's) and compare; an
    encoder-decoder scores both given the same `source`."""
    state = ensure_state(state)
    if not pairs:
        raise UserError("No pairs to score.")
    texts = [t for pair in pairs for t in pair]
    check_texts(texts)
    method = resolve_method(model, tokenizer, method)
    scores = score_sentences(model, tokenizer, texts, method, top_k=0, source=source, state=state)
    rows = [
        PairRow(good, bad, a.log_prob, b.log_prob, a.log_prob > b.log_prob)
        for (good, bad), a, b in zip(pairs, scores[::2], scores[1::2], strict=True)
    ]
    return PairsResult(rows, method)
