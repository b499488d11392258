"""The comparison table of one optimize run: what was measured, on what, and what the user should know.

Saved as comparison.json in the optimized folder (the GUI puts that folder inside the run folder), read
back by the Results page when the run is opened again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from lmstudio_app.core.jsonio import read_json, write_json
from lmstudio_app.core.optimize.measure import VariantResult

COMPARISON_FILE = "comparison.json"
COLUMNS = (  # (key, heading, format) of the table the CLI prints and the GUI shows
    ("size_mb", "size MB", "{:.1f}"),
    ("peak_memory_mb", "peak mem MB", "{:.0f}"),
    ("latency_ms_p50", "p50 ms", "{:.2f}"),
    ("latency_ms_p95", "p95 ms", "{:.2f}"),
    ("throughput_batch32", "texts/s @32", "{:.0f}"),
    ("accuracy", "accuracy", "{:.3f}"),
    ("macro_f1", "macro-F1", "{:.3f}"),
    ("agreement", "agreement", "{:.3f}"),
)


@dataclass
class Comparison:
    """Every variant's row plus the conditions: rows used, threads, the int8 recipe and the CPU's support."""

    method: str
    kind: str
    model_dir: str
    out_dir: str
    rows: int
    rows_source: str
    threads: int
    variants: list[VariantResult]
    recipe: str | None = None
    tried: list[dict] = field(default_factory=list)  # int8 recipes tried: {"recipe", "agreement"}
    suitable: bool = True
    int8_cpu: dict = field(default_factory=dict)  # {"fast": bool | None, "note": str}
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "kind": self.kind,
            "model_dir": self.model_dir,
            "out_dir": self.out_dir,
            "rows": self.rows,
            "rows_source": self.rows_source,
            "threads": self.threads,
            "recipe": self.recipe,
            "tried": self.tried,
            "suitable": self.suitable,
            "int8_cpu": self.int8_cpu,
            "notes": self.notes,
            "variants": [v.to_dict() for v in self.variants],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Comparison:
        keys = {k for k in VariantResult.__dataclass_fields__ if k != "predicted"}
        variants = [
            VariantResult(**{k: v for k, v in row.items() if k in keys}) for row in d.get("variants", [])
        ]
        scalars = {k: d[k] for k in cls.__dataclass_fields__ if k in d and k != "variants"}
        return cls(**{**scalars, "variants": variants})

    def save(self, folder: Path) -> Path:
        write_json(Path(folder) / COMPARISON_FILE, self.to_dict())
        return Path(folder) / COMPARISON_FILE

    def speedup(self, name: str) -> float | None:
        """How many times faster than the original at batch 1 (p50), or None."""
        by = {v.name: v for v in self.variants}
        if name not in by or "original" not in by or not by[name].latency_ms_p50:
            return None
        return by["original"].latency_ms_p50 / by[name].latency_ms_p50

    def table(self) -> str:
        """A plain text table, one variant a line."""
        headers = ["variant", "runtime", *(h for _, h, _ in COLUMNS)]
        rows = [[v.name, v.runtime, *(cell(getattr(v, k), f) for k, _, f in COLUMNS)] for v in self.variants]
        widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
        lines = []
        for r in [headers, *rows]:
            lines.append(
                "  ".join(
                    c.ljust(w) if i < 2 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(r, widths, strict=True))
                )
            )
        return "\n".join(lines)


def cell(value: float | None, form: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else form.format(value)


def load_comparison(folder: Path) -> Comparison | None:
    """The comparison saved in `folder`, or None when there is none (or it cannot be read)."""
    data = read_json(Path(folder) / COMPARISON_FILE)
    if not data.get("variants"):
        return None
    try:
        return Comparison.from_dict(data)
    except TypeError:  # written by a different version: not shown rather than shown wrong
        return None
