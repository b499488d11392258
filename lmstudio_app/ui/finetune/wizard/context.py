"""What the wizard's pages hand on to each other: the table, the labelled data, the split, the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmstudio_app.ui.app_state import AppState


@dataclass
class WizardContext:
    """Filled page by page; a page only reads what the pages before it have validated."""

    app: AppState | None = None
    table: Any = None  # core.data.Table
    text_column: str = ""
    pair_column: str | None = None
    label_column: str = ""
    merge_variants: bool = True
    data: Any = None  # core.data.LabeledData, all usable rows
    train: Any = None
    val: Any = None
    plan: Any = None  # core.finetune.datasets.DataPlan: how train and val were made
    val_fraction: float = 0.2
    val_path: Path | None = None  # a separate validation file, when chosen
    seed: int = 42
    settings: dict = field(default_factory=dict)  # FineTuneSettings.to_dict() shape
    run_name: str = ""
    run_dir: Path | None = None
    result: Any = None  # core.training.FineTuneResult
