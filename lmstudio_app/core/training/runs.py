"""The runs folder: one folder per fine-tuning run, listed, reopened, resumed and deleted.

A run folder holds settings.json (settings, class list and how to rebuild the data), status.json,
history.jsonl (log/eval events), checkpoint-*/ (Trainer checkpoints, for resume), the final model
folder, results.json and metrics.json. Files are small JSON so the runs list opens instantly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.paths import user_data_dir

STATUSES = ("running", "cancelled", "finished", "failed")
SETTINGS_FILE = "settings.json"
STATUS_FILE = "status.json"
HISTORY_FILE = "history.jsonl"
RESULTS_FILE = "results.json"
METRICS_FILE = "metrics.json"


def runs_root() -> Path:
    """Where the app keeps its runs: <user data>/runs."""
    root = user_data_dir() / "runs"
    root.mkdir(parents=True, exist_ok=True)
    return root


def new_run_dir(name: str | None = None, root: Path | None = None) -> Path:
    """A fresh, empty folder named <timestamp>-<name> under `root` (default: runs_root())."""
    root = Path(root) if root is not None else runs_root()
    root.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", (name or "run").strip()).strip("-.") or "run"
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug[:60]}"
    path, n = root / base, 2
    while path.exists():
        path, n = root / f"{base}-{n}", n + 1
    path.mkdir(parents=True)
    return path


@dataclass
class RunInfo:
    """One run as the runs list shows it."""

    path: Path
    name: str
    status: str
    created: str
    settings: dict
    metrics: dict
    step: int
    max_steps: int
    message: str = ""
    has_checkpoint: bool = False
    has_model: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def resumable(self) -> bool:
        return self.status in ("cancelled", "failed") and self.has_checkpoint


def read_json(path: Path) -> dict:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def write_json(path: Path, value: Any) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a JSON file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)


def write_status(run_dir: Path, status: str, **fields: Any) -> dict:
    """Update status.json (keeps earlier fields such as `created`); records this process's id."""
    if status not in STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    current = read_json(Path(run_dir) / STATUS_FILE)
    current.setdefault("created", time.strftime("%Y-%m-%d %H:%M:%S"))
    current.update(fields, status=status, updated=time.strftime("%Y-%m-%d %H:%M:%S"), pid=os.getpid())
    write_json(Path(run_dir) / STATUS_FILE, current)
    return current


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def checkpoints(run_dir: Path) -> list[Path]:
    """Trainer checkpoints in the run, oldest step first."""
    found = []
    for p in Path(run_dir).glob("checkpoint-*"):
        m = re.fullmatch(r"checkpoint-(\d+)", p.name)
        if m and p.is_dir() and (p / "trainer_state.json").is_file():
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def run_info(run_dir: Path) -> RunInfo:
    """Read one run folder; a 'running' run whose process is gone is reported as 'cancelled'."""
    run_dir = Path(run_dir)
    status = read_json(run_dir / STATUS_FILE)
    saved = read_json(run_dir / SETTINGS_FILE)
    state = status.get("status", "failed")
    message = status.get("message", "")
    if state == "running" and not _pid_alive(status.get("pid")):
        state, message = "cancelled", "the app stopped during training"
    model_dir = Path(saved.get("model_dir") or run_dir / "model")
    return RunInfo(
        path=run_dir,
        name=saved.get("name") or run_dir.name,
        status=state if state in STATUSES else "failed",
        created=status.get("created", ""),
        settings=saved.get("settings", {}),
        metrics=read_json(run_dir / METRICS_FILE),
        step=int(status.get("step", 0) or 0),
        max_steps=int(status.get("max_steps", 0) or 0),
        message=message,
        has_checkpoint=bool(checkpoints(run_dir)),
        has_model=(model_dir / "config.json").is_file(),
        extra={
            "labels": saved.get("labels", []),
            "data": saved.get("data", {}),
            "val_data": saved.get("val_data"),
        },
    )


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every run folder under `root` (default: runs_root()), newest first."""
    root = Path(root) if root is not None else runs_root()
    if not root.is_dir():
        return []
    runs = [run_info(p) for p in root.iterdir() if p.is_dir() and (p / STATUS_FILE).is_file()]
    return sorted(runs, key=lambda r: (r.created, r.path.name), reverse=True)


def read_history(run_dir: Path) -> list[dict]:
    """The run's log/eval events in order (for loss curves and comparisons); bad lines are skipped."""
    path = Path(run_dir) / HISTORY_FILE
    events: list[dict] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return events
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def write_history(run_dir: Path, events: list[dict]) -> None:
    path = Path(run_dir) / HISTORY_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    os.replace(tmp, path)


def delete_run(run_dir: Path) -> None:
    """Remove a run folder; refuses folders that are not runs and runs still training in this process."""
    run_dir = Path(run_dir)
    if not (run_dir / STATUS_FILE).is_file():
        raise UserError(f"{run_dir} is not a fine-tuning run folder (no {STATUS_FILE}); nothing was deleted.")
    info = run_info(run_dir)
    if info.status == "running":
        raise UserError(f"{info.name} is still training: cancel it first, then delete it.")
    shutil.rmtree(run_dir)


def load_run_inputs(run_dir: Path) -> tuple[Any, Any, Any]:
    """Rebuild (train, val, settings) of a run from its settings.json, e.g. to resume it."""
    from lmstudio_app.core.data.labeled import prepare, split, subset
    from lmstudio_app.core.data.table import DataError, read_table
    from lmstudio_app.core.finetune.job import FineTuneSettings

    saved = read_json(Path(run_dir) / SETTINGS_FILE)
    if not saved.get("data"):
        raise UserError(f"{run_dir} has no settings.json with its data: it cannot be resumed.")
    settings = FineTuneSettings.from_dict(saved.get("settings", {}))

    def load(source: dict) -> Any:
        path = Path(source["path"])
        if not path.is_file():
            raise DataError(f"The data file {path} of this run is gone: put it back to resume the run.")
        table = read_table(
            path, encoding=source.get("encoding") or None, delimiter=source.get("delimiter") or None
        )
        return prepare(
            table,
            source["text_column"],
            source["label_column"],
            source.get("text_pair_column"),
            merge_variants=source.get("merge_variants", True),
        )

    source = saved["data"]
    full = load(source)
    if saved.get("val_data"):
        train, val = full, load(saved["val_data"])
        if source.get("split") == "train":
            train, _ = split(full, source["val_fraction"], source["seed"])
    elif source.get("split"):
        train, val = split(full, source["val_fraction"], source["seed"])
    else:
        train, val = full, subset(full, [])
    return train, val, settings
