"""What the Results page's Optimize button runs, and where its folders go: inside the run folder, so
that the comparison is saved with the run and shown again when the run is opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmstudio_app.core.optimize.report import Comparison, load_comparison

METHOD_CHOICES = {
    "onnx-int8: about 4x smaller and fastest (answers checked against the original)": "onnx-int8",
    "onnx-fp32: the same numbers with a faster runtime": "onnx-fp32",
}


def output_folder(run_dir: Path, method: str) -> Path:
    """A new folder for `method` in the run folder: optimized-int8, optimized-int8-2, ..."""
    base = Path(run_dir) / f"optimized-{method.removeprefix('onnx-')}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def saved_comparisons(run_dir: Path) -> list[Comparison]:
    """The comparisons saved in the run folder's optimized folders, oldest first."""
    folders = sorted(Path(run_dir).glob("optimized-*"), key=lambda p: p.stat().st_mtime)
    return [c for c in (load_comparison(f) for f in folders if f.is_dir()) if c is not None]


def optimize_job(model_dir: Path, method: str, out: Path, *, state: Any) -> Comparison:
    from lmstudio_app.core.optimize.run import OptimizeRequest, optimize

    return optimize(OptimizeRequest(Path(model_dir), method, Path(out)), state)
