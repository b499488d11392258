"""Labelled data to (train, validation): ONE function for the wizard, the command line and resume."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lmstudio_app.core.data.labeled import DataSource, LabeledData, prepare, split
from lmstudio_app.core.data.table import DataError, read_table
from lmstudio_app.core.tasks import TaskState


@dataclass
class DataPlan:
    """Where the training and validation rows come from: a file split by a seeded fraction, or two files."""

    data: DataSource
    val_data: DataSource | None = None  # a separate validation file; None = split `data`
    val_fraction: float = 0.2
    seed: int = 42

    def to_dict(self) -> dict:
        return {
            "data": self.data.to_dict(),
            "val_data": self.val_data.to_dict() if self.val_data else None,
            "val_fraction": self.val_fraction,
            "seed": self.seed,
        }

    @classmethod
    def from_saved(cls, job: dict) -> DataPlan:
        """From settings.json's job part (also the layout of runs saved before the plan existed)."""
        plan = job.get("data_plan")
        if plan:
            val = plan.get("val_data")
            return cls(
                DataSource.from_dict(plan["data"]),
                DataSource.from_dict(val) if val else None,
                float(plan.get("val_fraction", 0.2)),
                int(plan.get("seed", 42)),
            )
        data = job.get("data") or {}
        if not data.get("path"):
            raise DataError("This run did not record where its data came from: it cannot be rebuilt.")
        val = job.get("val_data")
        return cls(
            DataSource.from_dict(data),
            DataSource.from_dict(val) if val else None,
            float(data.get("val_fraction", 0.2)),
            int(data.get("seed", 42)),
        )

    @classmethod
    def of(cls, train: LabeledData, val: LabeledData) -> DataPlan:
        """The plan that produced (train, val), for data read by the caller (tests, scripts)."""
        if train.source is None:
            raise DataError("The training data does not say which file it came from.")
        if val.split is not None and val.split.part == "val":
            return cls(train.source, None, val.split.val_fraction, val.split.seed)
        return cls(train.source, val.source)


def load_labeled(source: DataSource, state: TaskState | None = None) -> LabeledData:
    """Read a table again as it was read before (same encoding, delimiter, columns, label merging)."""
    path = Path(source.path)
    if not path.is_file():
        raise DataError(
            f"The data file {path} is gone: put it back (or pick it again) to use this run's data."
        )
    table = read_table(
        path, encoding=source.encoding or None, delimiter=source.delimiter or None, state=state
    )
    return prepare(
        table,
        source.text_column,
        source.label_column,
        source.text_pair_column,
        merge_variants=source.merge_variants,
        multi_label=source.multi_label,
        separator=source.label_separator,
    )


def build_splits(
    plan: DataPlan, data: LabeledData | None = None, state: TaskState | None = None
) -> tuple[LabeledData, LabeledData]:
    """(train, val) as `plan` says; `data` is the already-read training table (else it is read)."""
    full = data if data is not None else load_labeled(plan.data, state)
    if plan.val_data is not None:
        return full, load_labeled(plan.val_data, state)
    return split(full, plan.val_fraction, plan.seed)
