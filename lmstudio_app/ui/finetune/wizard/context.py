"""What the wizard's pages hand on to each other: the data, the split, the settings, the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmstudio_app.ui.app_state import AppState


@dataclass
class RunContext:
    """What every task's pages share (filled page by page; a page only reads what the pages before it have
    validated): the usable data, the split, the settings and the run they start."""

    app: AppState | None = None
    data: Any = None  # all usable rows: LabeledData, TaggedData or QAData
    train: Any = None
    val: Any = None
    plan: Any = None  # how train and val were made (read again on resume), when the job keeps one
    val_fraction: float = 0.2
    val_path: Path | None = None  # a separate validation file, when chosen
    seed: int = 42
    settings: dict = field(default_factory=dict)  # the job's settings as a dict (its Settings.to_dict shape)
    run_name: str = ""
    run_dir: Path | None = None
    result: Any = None  # the job's result (FineTuneResult, TokenResult, QAResult)
    data_path: str = ""  # the training file: names the run

    def data_name(self) -> str:
        """The training file's name without its suffix ("data" before one is read)."""
        return Path(self.data_path).stem if self.data_path else "data"


@dataclass
class WizardContext(RunContext):
    """The labels (sentence classification) path: a table and the columns that hold texts and labels."""

    table: Any = None  # core.data.Table
    text_column: str = ""
    pair_column: str | None = None
    label_column: str = ""
    merge_variants: bool = True

    def data_name(self) -> str:
        return Path(self.table.path).stem if self.table is not None else super().data_name()
