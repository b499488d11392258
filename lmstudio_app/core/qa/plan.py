"""Where a question-answering run's training and validation questions come from, read again to resume it.

The run's settings record the data file, the validation file (or the held-out fraction and seed of the
split by context) and a table's column names, so `resume_qa` rebuilds the same two sides from them.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.qa.data import Columns, QAExample, read_qa, split_by_context
from lmstudio_app.core.qa.job import train_qa
from lmstudio_app.core.qa.settings import QAResult, QASettings
from lmstudio_app.core.tasks import TaskState
from lmstudio_app.core.training.bridge import EventFn
from lmstudio_app.core.training.record import RunRecord


def columns_of(settings: QASettings) -> Columns | None:
    """The table's column names the settings record (None: the defaults)."""
    return (
        Columns(**{k: v for k, v in settings.columns.items() if k in asdict(Columns())})
        if settings.columns
        else None
    )


def build_split(
    settings: QASettings, state: TaskState | None = None
) -> tuple[list[QAExample], list[QAExample]]:
    """(train, validation) as the settings say: the validation file, else the split by context."""
    if not settings.data:
        raise UserError("The run's settings name no data file: it cannot be read again.")
    columns = columns_of(settings)
    data = read_qa(settings.data, columns, state)
    if settings.val_data:
        return data.examples, read_qa(settings.val_data, columns, state).examples
    return split_by_context(data, settings.val_fraction, settings.seed)


def resume_qa(run_dir: Path, *, state: TaskState | None = None, on_event: EventFn | None = None) -> QAResult:
    """Continue a cancelled or interrupted question-answering run from its newest checkpoint, reading its
    data again from the files its settings name."""
    saved = RunRecord(Path(run_dir)).saved_settings()
    settings = QASettings.from_dict(saved.settings)
    if saved.kind != "qa" or not settings.data:
        raise UserError(f"{run_dir} has no settings.json with its data: it cannot be resumed.")
    train, val = build_split(settings, state)
    model_dir = saved.job.get("model_dir")
    return train_qa(
        train,
        val,
        settings,
        Path(run_dir),
        state=state,
        on_event=on_event,
        resume=True,
        model_dir=Path(model_dir) if model_dir else None,
    )
