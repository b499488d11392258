"""The rows every variant is measured on: a table the user names, the validation rows of the fine-tune run
the model came from, or (without either) built-in sentences that give speed and agreement but no accuracy."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from lmstudio_app.core.data.labeled import prepare
from lmstudio_app.core.data.table import DataError, read_table
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.finetune.datasets import DataPlan, build_splits
from lmstudio_app.core.tasks import TaskState
from lmstudio_app.core.training.record import SETTINGS_FILE, RunRecord

MAX_ROWS = 2000  # enough for accuracy to a fraction of a point; every variant predicts them all on one thread

# Sentences of everyday lengths (4 to 60 words) for speed and agreement when there are no labelled rows.
SAMPLE_TEXTS = [
    "Great value.",
    "The delivery was late again and nobody answered the phone.",
    "I would recommend this to a friend.",
    "The plot was thin, but the acting carried the whole film from start to finish.",
    "Not what I expected.",
    "The city council approved the new budget after a long debate on Tuesday night.",
    "Scientists have found a new species of frog in the rain forests of Ecuador.",
    "Terrible customer service, I will never order from them again.",
    "The team won the championship for the third year in a row, and the fans celebrated in the streets "
    "until the early hours of the morning.",
    "How do I reset my password?",
    "Stock markets fell sharply as investors worried about rising interest rates and slowing growth in "
    "several large economies, while the price of oil climbed for the fourth week.",
    "A warm and funny story about a family that moves to a small town by the sea.",
    "The battery lasts two days.",
    "After the update the app crashes every time I open the camera, which makes it useless for me.",
    "The museum opens a new exhibition of early photographs next month.",
    "She finished the marathon in under three hours despite the heat.",
    "This is the best pizza I have had in years, with a crisp crust and fresh tomatoes.",
    "The committee will publish its report on the causes of the flood early next year, after hearing "
    "from residents, engineers and the companies that built the dams along the river.",
    "Quiet, clean and close to the station.",
    "The lecture explained how vaccines train the immune system to recognise a virus.",
]


@dataclass
class EvalRows:
    """Texts (and second texts) with their true labels when known; `source` and `note` are said to the user."""

    texts: list[str]
    pairs: list[str] | None
    labels: list[str] | None
    source: str
    note: str = ""

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class TableSpec:
    """A table the user names for the measurement (`--csv FILE --text-column C [--label-column L]`)."""

    path: Path
    text_column: str
    label_column: str | None = None
    text_pair_column: str | None = None


def sample_rows(note: str) -> EvalRows:
    return EvalRows(list(SAMPLE_TEXTS), None, None, "built-in sample sentences", note)


def rows_from_table(spec: TableSpec, state: TaskState | None = None) -> EvalRows:
    table = read_table(Path(spec.path), state=state)
    name = Path(spec.path).name
    if spec.label_column:
        data = prepare(table, spec.text_column, spec.label_column, spec.text_pair_column)
        return _capped(EvalRows(data.texts, data.pairs, data.labels, name))
    for col in (spec.text_column, spec.text_pair_column):
        if col is not None and col not in table.columns:
            raise DataError(f"Column {col!r} is not in {name}; its columns are: {', '.join(table.columns)}.")
    frame = table.frame
    texts = frame[spec.text_column].astype(str).tolist()
    pairs = frame[spec.text_pair_column].astype(str).tolist() if spec.text_pair_column else None
    keep = [i for i, t in enumerate(texts) if t.strip()]
    if not keep:
        raise DataError(f"Every text in column {spec.text_column!r} of {name} is empty: pick another column.")
    rows = EvalRows(
        [texts[i] for i in keep],
        [pairs[i] for i in keep] if pairs is not None else None,
        None,
        name,
        "no --label-column: accuracy and macro-F1 are not measured",
    )
    return _capped(rows)


def run_folder_of(model_dir: Path) -> Path | None:
    """The fine-tune run folder whose model is `model_dir` (the folder itself for the command line's runs,
    its parent for the wizard's run/model), or None."""
    model_dir = Path(model_dir).resolve()
    for folder in (model_dir, model_dir.parent):
        if not (folder / SETTINGS_FILE).is_file():
            continue
        saved = RunRecord(folder).saved_settings()
        recorded = Path(saved.job.get("model_dir") or folder / "model")
        if saved.kind == "finetune" and recorded.resolve() == model_dir:
            return folder
    return None


def rows_of_run(model_dir: Path, state: TaskState | None = None) -> EvalRows:
    """The validation rows of the run that trained `model_dir`, rebuilt from its data plan; sample
    sentences (and why) when the folder did not come from a run or its data is gone."""
    run = run_folder_of(model_dir)
    if run is None:
        return sample_rows(
            "the model folder did not come from a fine-tune run and no --csv was given: speed, size and "
            "agreement are measured on built-in sentences; accuracy is not"
        )
    try:
        _, val = build_splits(DataPlan.from_saved(RunRecord(run).saved_settings().job), state=state)
    except UserError as exc:
        return sample_rows(f"the run's validation rows cannot be rebuilt ({exc}); accuracy is not measured")
    return _capped(EvalRows(val.texts, val.pairs, val.labels, f"validation rows of the run {run.name}"))


def resolve_rows(model_dir: Path, table: TableSpec | None, state: TaskState | None = None) -> EvalRows:
    return rows_from_table(table, state) if table is not None else rows_of_run(model_dir, state)


def _capped(rows: EvalRows, limit: int = MAX_ROWS) -> EvalRows:
    """At most `limit` rows, a seeded sample in their original order (the same rows on every run)."""
    if len(rows) <= limit:
        return rows
    keep = sorted(random.Random(0).sample(range(len(rows)), limit))
    rows.note = "; ".join(filter(None, [rows.note, f"{limit:,} of its {len(rows):,} rows, a fixed sample"]))
    rows.texts = [rows.texts[i] for i in keep]
    rows.pairs = [rows.pairs[i] for i in keep] if rows.pairs is not None else None
    rows.labels = [rows.labels[i] for i in keep] if rows.labels is not None else None
    return rows
