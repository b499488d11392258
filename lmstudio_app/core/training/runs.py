"""The runs folder: one folder per training run (any job kind), listed, reopened and deleted.

Each run folder is read and written only through core/training/record.py (RunRecord).
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.jsonio import cannot_write
from lmstudio_app.core.paths import user_data_dir
from lmstudio_app.core.training.record import STATUS_FILE, RunRecord


def runs_root() -> Path:
    """Where the app keeps its runs: <user data>/runs (created by the first run, so that a read-only
    data folder still lets the app start)."""
    return user_data_dir(create=False) / "runs"


def new_run_dir(name: str | None = None, root: Path | None = None) -> Path:
    """A fresh, empty folder named <timestamp>-<name> under `root` (default: runs_root()); never reused."""
    root = Path(root) if root is not None else runs_root()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", (name or "run").strip()).strip("-.") or "run"
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug[:60]}"
    n = 1
    while True:  # mkdir without exist_ok is the atomic claim: two apps never get the same folder
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            n += 1
        except OSError as exc:
            raise cannot_write(path, exc) from exc


@dataclass
class RunInfo:
    """One run as the runs list shows it."""

    path: Path
    name: str
    kind: str
    status: str
    created: str
    settings: dict
    metrics: dict
    step: int
    max_steps: int
    message: str = ""
    has_checkpoint: bool = False
    has_model: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # the job's own description (labels, data...)

    @property
    def resumable(self) -> bool:
        return self.status in ("cancelled", "failed", "interrupted") and self.has_checkpoint


def run_info(run_dir: Path) -> RunInfo:
    """Read one run folder (cheap: small JSON files only)."""
    record = RunRecord(Path(run_dir))
    saved = record.saved_settings()
    status = record.status()
    state, message = record.effective_status()
    return RunInfo(
        path=record.path,
        name=saved.name or record.path.name,
        kind=saved.kind,
        status=state,
        created=status.get("created", ""),
        settings=saved.settings,
        metrics=record.metrics(),
        step=int(status.get("step", 0) or 0),
        max_steps=int(status.get("max_steps", 0) or 0),
        message=message,
        has_checkpoint=bool(record.checkpoints()),
        has_model=record.has_model(),
        extra=saved.job,
    )


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every run folder under `root` (default: runs_root()), newest first."""
    root = Path(root) if root is not None else runs_root()
    if not root.is_dir():
        return []
    runs = [run_info(p) for p in root.iterdir() if p.is_dir() and (p / STATUS_FILE).is_file()]
    return sorted(runs, key=lambda r: (r.created, r.path.name), reverse=True)


def delete_run(run_dir: Path) -> None:
    """Remove a run folder; refuses folders that are not runs and runs still training."""
    run_dir = Path(run_dir)
    if not (run_dir / STATUS_FILE).is_file():
        raise UserError(f"{run_dir} is not a training run folder (no {STATUS_FILE}); nothing was deleted.")
    record = RunRecord(run_dir)
    if record.is_locked():
        raise UserError(
            f"{record.saved_settings().name or run_dir.name} is still training: cancel it first, then delete it."
        )
    shutil.rmtree(run_dir)
