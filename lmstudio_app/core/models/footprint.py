"""How much memory a model folder will take once loaded, from its safetensors headers alone.

The estimate comes before the load (no torch, no weights read), so the user can pick a device and a dtype
that fit; it counts every stored tensor once (tied weights are stored once), whatever the model family.
It is an estimate to warn with, never a reason to refuse a load.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

BYTES_PER_VALUE = {"float32": 4, "float16": 2, "bfloat16": 2}


def _header(file: Path) -> dict:
    with open(file, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(size))


def stored_values(folder: Path) -> int:
    """The number of values (parameters and saved buffers) in the folder's safetensors files."""
    return sum(
        math.prod(entry["shape"])
        for file in sorted(folder.glob("*.safetensors"))
        for name, entry in _header(file).items()
        if name != "__metadata__"
    )


def estimate_bytes(folder: Path, dtype: str) -> int:
    """Bytes the weights take on the device in `dtype` (float32, float16 or bfloat16)."""
    return stored_values(folder) * BYTES_PER_VALUE[dtype]
