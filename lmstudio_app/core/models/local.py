"""Resolve a model spec without the network: training and batch work never start a download."""

from __future__ import annotations

from pathlib import Path

from lmstudio_app.core.errors import ModelSourceError
from lmstudio_app.core.models.sources import ResolvedModel, check_folder, find_embedded, resolve


def resolve_local(spec: str) -> ResolvedModel:
    """Like sources.resolve, but a hub id must already be in the local cache."""
    spec = spec.strip()
    looks_like_path = spec.startswith(("/", ".", "~")) or "\\" in spec or spec.count("/") > 1
    if not spec or find_embedded(spec) is not None or Path(spec).expanduser().exists() or looks_like_path:
        return resolve(spec)  # embedded, a folder, or a clear "folder not found"
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(spec, local_files_only=True))
    except Exception as exc:  # not cached (or not a hub id at all): say what to do
        raise ModelSourceError(
            f"{spec} is not on this machine: load it once in the model manager (which downloads it), "
            "or pick a local folder or an embedded model."
        ) from exc
    check_folder(folder, origin=spec)
    return ResolvedModel(spec, folder, "hub", spec)
