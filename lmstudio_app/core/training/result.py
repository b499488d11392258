"""What every finished run leaves, whatever its job: the folder, the saved model, the figures, the events.

A job's own result (per-class scores, probes, ...) subclasses `RunResult` with defaulted fields, so one
`to_dict` writes results.json and one `load` reopens it for any kind of run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Self

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.training.record import RunRecord

_COMMON = ("run_dir", "model_dir", "history")


@dataclass
class RunResult:
    run_dir: Path
    model_dir: Path
    metrics: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list, kw_only=True)  # history.jsonl keeps these

    def to_dict(self) -> dict:
        """results.json: every field but the history, paths as text."""
        d = asdict(self)
        d.pop("history")
        d["run_dir"], d["model_dir"] = str(self.run_dir), str(self.model_dir)
        return d

    @classmethod
    def load(cls, run_dir: Path) -> Self:
        """Reopen a finished run's results.json and history; a field the file lacks keeps its default."""
        record = RunRecord(Path(run_dir))
        saved = record.results()
        if not saved:
            raise UserError(
                f"{record.path.name} has no results yet: it has not finished (resume it or start it again)."
            )
        own = {f.name: saved[f.name] for f in fields(cls) if f.name not in _COMMON and f.name in saved}
        return cls(
            run_dir=record.path,
            model_dir=Path(saved.get("model_dir") or record.path / "model"),
            history=record.history(),
            **own,
        )
