"""Which base models the chooser offers: the embedded encoders, the loaded ones, the encoders in the
Hugging Face cache; a folder or hub id the user adds joins them. Decoders are left out (fine-tuning
refuses them as a base)."""

from __future__ import annotations

import json
from typing import Any

from lmstudio_app.core.choose.rank import Candidate
from lmstudio_app.core.models.family import CAUSAL, SEQ2SEQ, family_of
from lmstudio_app.core.models.registry import HEAD_CLS, HEAD_ENCODER, HEAD_MLM, HEAD_NSP

ENCODER_HEADS = {HEAD_ENCODER, HEAD_MLM, HEAD_NSP, HEAD_CLS}  # loaded models that can be a base


def loaded_label(loaded: Any) -> str:
    """How a loaded model is named wherever a base model is picked (the Settings page's list too)."""
    return f"{loaded.key} (loaded)"


def _is_encoder(folder: Any) -> bool:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return family_of(config) not in (CAUSAL, SEQ2SEQ)


def available_candidates(loaded_models: list[Any], *, cache: bool = True) -> list[Candidate]:
    """Embedded encoders first, then loaded models, then the cache's encoders, each folder once."""
    from lmstudio_app.core.models.sources import ENCODER_TASKS, cached_models, embedded_models

    found = [Candidate(m.name, m.name, "embedded") for m in embedded_models() if m.task in ENCODER_TASKS]
    seen = {m.path.resolve() for m in embedded_models()}
    for loaded in loaded_models:
        if ENCODER_HEADS & set(loaded.heads) and loaded.model is not None:
            found.append(Candidate(loaded_label(loaded), str(loaded.path), "loaded", loaded))
            seen.add(loaded.path.resolve())
    for cached in cached_models() if cache else []:
        if cached.path.resolve() not in seen and _is_encoder(cached.path):
            found.append(Candidate(cached.repo_id, cached.repo_id, "cache"))
    return found
