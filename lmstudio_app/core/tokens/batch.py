"""Tag a column of a table with a trained tagger: every row's words, their tags and the entities they form.

The texts are split into words as typed text is (scheme.words_of) and tagged in one batched pass (the same
windows as training, so a long text is tagged whole). The output is the input table plus three columns:
`tokens` (the words, space-separated), `tags` (one tag per word, space-separated, in the same order) and,
for BIO/BIOES taggers, `entities` ("text (TYPE); ..."); a row with an empty text gets empty cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lmstudio_app.core.data.table import DataError, read_table
from lmstudio_app.core.data.table_writer import TABLE_FORMATS, write_table
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.outputs import check_format
from lmstudio_app.core.tasks import TaskState, ensure_state
from lmstudio_app.core.tokens.predict import load_tagger, tag_sentences
from lmstudio_app.core.tokens.scheme import entities, entity_scheme, words_of

OUTPUT_COLUMNS = ("tokens", "tags", "entities")


@dataclass
class TaggedTable:
    """What predict_table wrote: every input row, those with an empty text left untagged, the words
    tagged, and what reading the table noticed."""

    rows: int
    skipped_empty: int
    words: int
    problems: list[str] = field(default_factory=list)


def predict_table(
    model_dir: Path | str,
    table_in: Path | str,
    column: str,
    out: Path | str,
    *,
    device: str = "cpu",
    state: TaskState | None = None,
) -> TaggedTable:
    """Tag the texts of `column` into `out` (a table in the format its suffix names; see write_table).
    The output path and the column are checked before any model work."""
    state = ensure_state(state)
    table_in, out = Path(table_in), Path(out)
    check_format(out, TABLE_FORMATS)
    if out.resolve() == table_in.resolve():
        raise UserError("The output file must differ from the input file (the input is never overwritten).")
    table = read_table(table_in, state=state)
    if column not in table.columns:
        raise DataError(
            f"Column {column!r} is not in {table_in.name}; its columns are: {', '.join(table.columns)}."
        )
    model, _, _ = load_tagger(Path(model_dir), device)  # a folder of another task is refused first
    with_entities = entity_scheme(str(t) for t in model.config.id2label.values()) is not None
    frame = table.frame.copy()
    texts = ["" if value is None else str(value) for value in frame[column].tolist()]
    words = [words_of(text) for text in texts]
    rows = [i for i, w in enumerate(words) if w]
    tagged = tag_sentences(
        Path(model_dir), [[w for w, _, _ in words[i]] for i in rows], device=device, state=state
    )
    tokens_col, tags_col, entities_col = [""] * len(texts), [""] * len(texts), [""] * len(texts)
    for i, row in zip(rows, tagged, strict=True):
        tags = [tag for tag, _ in row]
        tokens_col[i] = " ".join(w for w, _, _ in words[i])
        tags_col[i] = " ".join(tags)
        if with_entities:
            found = entities(tags)
            entities_col[i] = "; ".join(
                f"{texts[i][words[i][first][1] : words[i][last - 1][2]]} ({label})"
                for label, first, last in found
            )
    for name, values in zip(OUTPUT_COLUMNS, (tokens_col, tags_col, entities_col), strict=True):
        if name == "entities" and not with_entities:
            continue
        frame[_free_name(name, list(frame.columns))] = values
    write_table(frame, out)
    return TaggedTable(
        len(frame), len(texts) - len(rows), sum(len(words[i]) for i in rows), list(table.problems)
    )


def _free_name(name: str, taken: list[str]) -> str:
    """`name`, or predicted_`name` when the input table already has such a column."""
    return name if name not in taken else f"predicted_{name}"
