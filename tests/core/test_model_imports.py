"""The first import of torch, transformers and a model's code pauses the garbage collector and freezes what
it made (full collections of those objects froze the window 90-320 ms apiece); a loaded model is still freed
as soon as it is dropped."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref

from lmstudio_app.core.models.registry import load_model
from lmstudio_app.core.models.sources import resolve

FRESH_PROCESS = """
import gc, sys
from pathlib import Path
from lmstudio_app.core.models.imports import import_quietly
collections = []
gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info["generation"]))
import_quietly("torch", "sklearn.metrics", "no_such_module_here", model_dir=Path(sys.argv[1]))
print("enabled", gc.isenabled())
print("frozen", gc.get_freeze_count())
print("model code", "transformers.models.bert.modeling_bert" in sys.modules)
print("modules", "sklearn.metrics" in sys.modules)
print("collections during import", len(collections))
"""


def test_first_import_runs_no_collection_and_freezes_what_it_made(tiny_model):
    out = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(tiny_model("encoder"))],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    ).stdout.splitlines()
    facts = dict(line.rsplit(" ", 1) for line in out)
    assert facts["enabled"] == "True" and facts["model code"] == "True" and facts["modules"] == "True", out
    assert facts["collections during import"] == "0", out
    assert int(facts["frozen"]) > 100_000, out  # torch and transformers' objects, out of the collector's way


def test_a_loaded_model_is_freed_by_reference_counting_alone(tiny_model):
    """Freezing must keep nothing alive: an unloaded model goes without waiting for a collection."""
    loaded = load_model(resolve(str(tiny_model("encoder"))))
    model, weight = weakref.ref(loaded.model), weakref.ref(loaded.model.embeddings.word_embeddings.weight)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        del loaded
        assert model() is None and weight() is None
    finally:
        if was_enabled:
            gc.enable()


def test_the_device_list_imports_torch_alone():
    """`lmstudio-app models` and the About dialog list devices: they must not pay for importing transformers."""
    code = "import sys; from lmstudio_app.core.models.devices import list_devices; list_devices(); "
    code += "print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=240, check=True
    )
    assert out.stdout.split() == ["True", "False"], out.stdout
