"""Importing torch, transformers and a model's code without freezing the window.

The first import creates ~450k objects (and a model family's first import, which pulls in torch's
compiler stack, another ~200k) that live until the process exits. Left to the cyclic garbage collector,
that growth set off full collections that each walked every object while holding the GIL (90-320 ms apiece
here), so a window whose worker thread did the import froze for ~300 ms at a time. The collector is paused
while they import, and what the import made is then moved out of its sight (`gc.freeze`), as Python's
documentation advises for long-lived objects. Freezing keeps nothing alive: a model is freed by reference
counting alone when it is unloaded (checked for BERT in the tests).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import sys
import threading
from pathlib import Path

_LOCK = threading.Lock()


def import_quietly(*modules: str, model_dir: Path | None = None) -> None:
    """Import `modules` (each caller names what it needs: the device list only torch) and, with `model_dir`,
    transformers and the classes its config.json names (their modules import lazily); cheap once imported."""
    names: list[str] = []
    if model_dir is not None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
            names = [str(n) for n in config["architectures"]]
    with _LOCK:
        before = len(sys.modules)
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for module in modules:
                with contextlib.suppress(ImportError):  # e.g. a torch build without torch.distributed
                    importlib.import_module(module)
            if names:
                import transformers

                for name in names:
                    with contextlib.suppress(Exception):  # remote-code classes are not in transformers
                        getattr(transformers, name, None)
            # Frozen before the collector runs again: its next pass would walk everything just made.
            if len(sys.modules) > before:
                gc.freeze()
        finally:
            if was_enabled:
                gc.enable()
