"""The Explain panel's background work: run every method on one text, load a model folder, build maps.

These run in `Worker`s (ui/qthreading.py) and only call core; their progress is scaled into one bar.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.explain.answer import explain_answer
from lmstudio_app.core.explain.attribution import ExplainOptions, Explanation, explain
from lmstudio_app.core.explain.embed_map import DatasetMap, MapOptions, dataset_map
from lmstudio_app.core.explain.methods import METHOD_NAMES, METHODS
from lmstudio_app.core.explain.tagger import explain_tag
from lmstudio_app.core.tasks import TaskState


class _Part(TaskState):
    """Progress of one part of a job mapped into [start, start + share) of the whole; same stop flag."""

    def __init__(self, whole: TaskState, start: float, share: float, prefix: str = "") -> None:
        super().__init__()
        self._whole, self._start, self._share, self._prefix = whole, start, share, prefix

    def progress(self, fraction: float, message: str = "") -> None:
        done = self._start + self._share * max(0.0, fraction)
        self._whole.progress(done, f"{self._prefix}{message}")

    def should_stop(self) -> bool:
        return self._whole.should_stop()

    def raise_if_stopped(self) -> None:
        self._whole.raise_if_stopped()


def _each_method(
    run: Callable[[ExplainOptions, TaskState], Explanation], options: ExplainOptions, state: TaskState
) -> dict[str, Explanation | str]:
    """Every method on the same input and target; a method that cannot run gives its one-line reason."""
    results: dict[str, Explanation | str] = {}
    for i, method in enumerate(METHODS):
        part = _Part(state, i / len(METHODS), 1 / len(METHODS), f"{METHOD_NAMES[method]}: ")
        try:
            results[method] = run(dataclasses.replace(options, method=method), part)
        except UserError as exc:
            if i == 0:  # the input itself is wrong (no head, no mask, unknown label): say it once
                raise
            results[method] = str(exc)
    return results


def explain_all(
    loaded: Any, text: str, options: ExplainOptions, *, state: TaskState
) -> dict[str, Explanation | str]:
    """A class, a candidate at the mask or a next token, by every method."""
    return _each_method(lambda o, part: explain(loaded, text, o, state=part), options, state)


def explain_tag_all(
    loaded: Any, text: str, word: int, options: ExplainOptions, *, state: TaskState
) -> dict[str, Explanation | str]:
    """A word tagger's tag of word `word` (0-based), by every method."""
    return _each_method(lambda o, part: explain_tag(loaded, text, word, o, state=part), options, state)


def explain_answer_all(
    loaded: Any, question: str, context: str, options: ExplainOptions, end: bool, *, state: TaskState
) -> dict[str, Explanation | str]:
    """A QA model's answer start (or end), by every method."""
    return _each_method(
        lambda o, part: explain_answer(loaded, question, context, o, end=end, state=part), options, state
    )


def load_folder(registry: Any, folder: Path, name: str | None, *, state: TaskState) -> Any:
    """A fine-tuned folder loaded on the CPU (or the copy already loaded)."""
    from lmstudio_app.core.models.registry import load_model
    from lmstudio_app.core.models.sources import resolve

    existing = registry.find(Path(folder), "cpu", "float32")
    if existing is not None:
        return existing
    source = resolve(str(folder), state=state)
    if name:
        source = dataclasses.replace(source, name=name)
    return registry.add(
        load_model(source, "cpu", "float32", state=state, key=f"{source.name} [cpu, float32]")
    )


def build_maps(
    models: list[Any], texts: list[str], labels: list[str] | None, options: MapOptions, *, state: TaskState
) -> list[DatasetMap]:
    """One map per model (before, after) on the same rows."""
    maps = []
    for i, loaded in enumerate(models):
        part = _Part(state, i / len(models), 1 / len(models), f"{loaded.name}: ")
        maps.append(dataset_map(loaded, texts, labels, options, state=part))
    return maps


def load_pair(
    registry: Any, after: Path, after_name: str, before_spec: str, *, state: TaskState
) -> tuple[Any, Any]:
    """The fine-tuned folder and its base model, both on the CPU (copies already loaded are reused)."""
    from lmstudio_app.core.models.local import resolve_local
    from lmstudio_app.core.models.registry import load_model

    fine_tuned = load_folder(registry, after, after_name, state=_Part(state, 0.0, 0.5, "Fine-tuned model: "))
    source = resolve_local(before_spec)
    base = registry.find(source.path, "cpu", "float32") or registry.add(
        load_model(source, "cpu", "float32", state=_Part(state, 0.5, 0.5, "Base model: "))
    )
    return fine_tuned, base
