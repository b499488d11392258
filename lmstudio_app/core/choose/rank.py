"""Rank candidate base models for the user's labelled rows, best first.

Every candidate is checked first (found on this machine, an encoder or a masked LM, its size from the
config on the meta device), so a bad one is refused in one line before any model is loaded. Then each is
loaded in turn (a model already loaded is used as it is), embeds the same stratified sample, is scored and
let go: LogME ranks, the probe's accuracy and the embedding time are reported beside it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lmstudio_app.core.choose.embed import sentence_vectors, stratified_sample
from lmstudio_app.core.choose.logme import logme
from lmstudio_app.core.choose.probe import probe_accuracy
from lmstudio_app.core.data.labeled import LabeledData
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.family import require_encoder_base
from lmstudio_app.core.models.footprint import Footprint, model_footprint
from lmstudio_app.core.tasks import TaskState, ensure_state

JOB = "fine-tuning"  # what the chosen base is for, in the refusal of a decoder
CLASSIFIER = "AutoModelForSequenceClassification"  # what fine-tuning builds on the base


@dataclass(frozen=True)
class Candidate:
    """A base model to try: an embedded name, a folder or a cached hub id, or a model already loaded."""

    name: str
    spec: str
    origin: str = "added"  # embedded | cache | loaded | added
    loaded: Any = None  # core.models.registry.LoadedModel: used as it is, never unloaded here


@dataclass(frozen=True)
class ChooseOptions:
    sample_size: int = 500
    seed: int = 42
    max_length: int = 128
    device: str = "cpu"


@dataclass(frozen=True)
class Checked:
    """A candidate found on this machine, with the size of the classifier fine-tuning would build on it."""

    candidate: Candidate
    folder: Path
    footprint: Footprint


@dataclass(frozen=True)
class Ranked:
    """One candidate's line of the ranking (the CLI's JSON object, the chooser's table row)."""

    model: str
    score: float  # LogME, per sample; higher is better
    probe_accuracy: float  # cross-validated on the sample, 0..1
    parameters: int  # of the classifier fine-tuning would train (base + head for the data's classes)
    memory_bytes: dict[str, int]  # its weights in float32, float16 and bfloat16
    seconds: float  # embedding the sample (loading not counted)

    def to_dict(self) -> dict:
        return asdict(self)


def classifier_footprint(folder: Path, classes: int) -> Footprint:
    """The footprint of the sequence classifier for `classes` labels on the folder's base, from its config;
    an architecture without such a class counts as its bare encoder."""
    try:
        return model_footprint(folder, CLASSIFIER, num_labels=classes)
    except ValueError:
        return model_footprint(folder, "AutoModel")


def check_candidate(candidate: Candidate, classes: int) -> Checked:
    """Resolve without downloading and refuse a decoder, in one line naming the candidate."""
    from lmstudio_app.core.models.local import resolve_local

    if candidate.loaded is not None:
        if candidate.loaded.model is None:
            raise UserError(f"{candidate.name} has been unloaded: load it again in the Models tab.")
        require_encoder_base(candidate.loaded.model, candidate.name, JOB)
        folder = candidate.loaded.path
    else:
        folder = resolve_local(candidate.spec).path
        require_encoder_base(json.loads((folder / "config.json").read_text("utf-8")), candidate.name, JOB)
    return Checked(candidate, folder, classifier_footprint(folder, classes))


def check_candidates(candidates: list[Candidate], data: LabeledData) -> list[Checked]:
    """Every candidate checked before any work is done, and the labels: two classes at least (a single
    candidate is fine: it is scored alone)."""
    if not candidates:
        raise UserError("No candidate models: add at least one (an embedded name, a folder or a hub id).")
    classes = len(set(data.labels))
    if classes < 2:
        raise UserError(
            f"The labels have {classes} class{'es' if classes != 1 else ''}: ranking models needs at least two."
        )
    names = [c.name for c in candidates]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UserError(f"{', '.join(twice)} is listed twice: give each candidate once.")
    return [check_candidate(c, classes) for c in candidates]


def _score(checked: Checked, sample: LabeledData, options: ChooseOptions, state: TaskState) -> Ranked:
    from lmstudio_app.core.models.devices import release_memory
    from lmstudio_app.core.models.registry import load_model
    from lmstudio_app.core.models.sources import ResolvedModel

    candidate = checked.candidate
    loaded = candidate.loaded
    if loaded is None:
        source = ResolvedModel(candidate.name, checked.folder, candidate.origin, candidate.spec)
        loaded = load_model(source, options.device, "float32", state=state.stage(0.0, 0.3))
    try:
        started = time.perf_counter()
        vectors = sentence_vectors(loaded, sample, max_length=options.max_length, state=state.stage(0.3, 0.9))
        seconds = time.perf_counter() - started
    finally:
        if candidate.loaded is None:
            loaded.model = None
            release_memory(options.device)
    state.progress(0.95, "scoring")
    return Ranked(
        model=candidate.name,
        score=logme(vectors, sample.labels),
        probe_accuracy=probe_accuracy(vectors, sample.labels, options.seed),
        parameters=checked.footprint.parameters,
        memory_bytes=checked.footprint.per_dtype(),
        seconds=seconds,
    )


@dataclass(frozen=True)
class Ranking:
    models: list[Ranked]  # best first
    rows: int  # in the sample every candidate embedded

    def to_dict(self) -> dict:
        return {"models": [m.to_dict() for m in self.models], "rows": self.rows}


def rank_models(
    candidates: list[Candidate],
    data: LabeledData,
    options: ChooseOptions | None = None,
    *,
    state: TaskState | None = None,
) -> Ranking:
    """Score every candidate on the same sample of `data`; best LogME first (the probe breaks ties)."""
    options = options or ChooseOptions()
    state = ensure_state(state)
    state.progress(0.0, "Checking the candidates")
    checked = check_candidates(candidates, data)
    sample = stratified_sample(data, options.sample_size, options.seed)
    ranked = []
    for i, one in enumerate(checked):
        state.raise_if_stopped()
        stage = state.stage(i / len(checked), (i + 1) / len(checked))
        stage = stage.prefixed(f"{one.candidate.name} ({i + 1} of {len(checked)}): ")
        stage.progress(0.0, "loading")
        ranked.append(_score(one, sample, options, stage))
    return Ranking(sorted(ranked, key=lambda r: (-r.score, -r.probe_accuracy)), len(sample))
