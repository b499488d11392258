"""Loaded models: load a resolved folder on a device and dtype, keep several at once, unload them."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import DuplicateModelError, ModelSourceError
from lmstudio_app.core.models.devices import check_device_dtype, release_memory
from lmstudio_app.core.models.family import CAUSAL, SEQ2SEQ, family_of
from lmstudio_app.core.models.imports import import_quietly
from lmstudio_app.core.models.integrity import folder_label, refetch_advice
from lmstudio_app.core.models.sources import ResolvedModel, resolve
from lmstudio_app.core.models.word_input import load_word_tokenizer
from lmstudio_app.core.tasks import TaskState, ensure_state

HEAD_MLM = "masked-lm"
HEAD_NSP = "next-sentence"
HEAD_CLS = "sequence-classification"
HEAD_ENCODER = "encoder"
HEAD_CAUSAL_LM = "causal-lm"
HEAD_SEQ2SEQ_LM = "seq2seq-lm"
HEAD_TOKENS = "token-classification"  # a word tagger (finetune --task tokens)
HEAD_QA = "question-answering"  # extractive QA (finetune --task qa)


@dataclass
class LoadedModel:
    """A model in memory with everything the panels need to use and describe it."""

    key: str
    name: str
    source: ResolvedModel
    model: Any
    tokenizer: Any
    device: str
    dtype: str
    architecture: str
    heads: tuple[str, ...]
    param_count: int
    bytes: int
    extra: dict[str, Any] = field(default_factory=dict)
    family: str = ""  # core/models/family: masked | causal | seq2seq | encoder; from the model when not given

    def __post_init__(self) -> None:
        if not self.family and self.model is not None:
            self.family = family_of(self.model)

    @property
    def path(self) -> Path:
        return self.source.path

    def has_head(self, head: str) -> bool:
        return head in self.heads


def _weight_names(path: Path) -> set[str]:
    """Tensor names in the folder's safetensors files, read from the headers only."""
    from safetensors import safe_open

    names: set[str] = set()
    for file in sorted(path.glob("*.safetensors")):
        try:
            with safe_open(str(file), framework="pt") as f:
                names.update(f.keys())
        except Exception as exc:  # safetensors' own error type for a damaged header
            raise _damaged(path, exc) from exc
    return names


def _damaged(path: Path, exc: BaseException) -> ModelSourceError:
    """safetensors refused a file that passed the size check (e.g. a corrupt header): the same advice."""
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    label = folder_label(path)
    return ModelSourceError(f"{label}: its weights are damaged ({reason}). {refetch_advice(path, label)}")


def detect_heads(path: Path) -> tuple[str, tuple[str, ...]]:
    """Which loading class fits the folder and which heads the user gets: (auto class name, heads)."""
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    family = family_of(config)
    if family == CAUSAL:
        return "AutoModelForCausalLM", (HEAD_CAUSAL_LM,)
    if family == SEQ2SEQ:
        return "AutoModelForSeq2SeqLM", (HEAD_SEQ2SEQ_LM,)
    archs = " ".join(config.get("architectures") or [])
    if "ForPreTraining" in archs:
        return "AutoModelForPreTraining", (HEAD_MLM, HEAD_NSP)
    if "ForMaskedLM" in archs:
        # BERT checkpoints such as bert-base-uncased say ForMaskedLM but also carry the NSP head.
        if config.get("model_type") == "bert" and any("seq_relationship" in n for n in _weight_names(path)):
            return "AutoModelForPreTraining", (HEAD_MLM, HEAD_NSP)
        return "AutoModelForMaskedLM", (HEAD_MLM,)
    if "ForNextSentencePrediction" in archs:
        return "AutoModelForNextSentencePrediction", (HEAD_NSP,)
    if "ForSequenceClassification" in archs:
        return "AutoModelForSequenceClassification", (HEAD_CLS,)
    if "ForTokenClassification" in archs:
        return "AutoModelForTokenClassification", (HEAD_TOKENS,)
    if "ForQuestionAnswering" in archs:
        return "AutoModelForQuestionAnswering", (HEAD_QA,)
    return "AutoModel", (HEAD_ENCODER,)


def load_model(
    source: ResolvedModel,
    device: str = "cpu",
    dtype: str = "float32",
    *,
    trust_remote_code: bool = False,
    state: TaskState | None = None,
    key: str | None = None,
) -> LoadedModel:
    """Load a resolved folder (safetensors only) onto a device in a dtype, in eval mode."""
    state = ensure_state(state)
    check_device_dtype(device, dtype)
    state.progress(0.05, "Importing torch and transformers")
    import_quietly("torch", "transformers", model_dir=source.path)
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()  # progress goes through `state`, not tqdm on stderr
    state.raise_if_stopped()
    auto_name, heads = detect_heads(source.path)
    state.progress(0.2, "Loading tokenizer")
    try:
        if HEAD_TOKENS in heads:  # tagged and explained with the tagger's own pre-split words
            tokenizer = load_word_tokenizer(source.path)
        else:
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                source.path, trust_remote_code=trust_remote_code, local_files_only=True
            )
        state.raise_if_stopped()
        state.progress(0.35, f"Loading weights ({', '.join(heads)})")
        model = getattr(transformers, auto_name).from_pretrained(
            source.path,
            dtype=getattr(torch, dtype),
            use_safetensors=True,
            trust_remote_code=trust_remote_code,
            local_files_only=True,
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ModelSourceError(f"Could not load {source.name}: {str(exc).splitlines()[0]}") from exc
    except Exception as exc:
        if type(exc).__module__.split(".")[0] != "safetensors":
            raise
        raise _damaged(source.path, exc) from exc
    state.raise_if_stopped()
    state.progress(0.85, f"Moving to {device}")
    model.to(device)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    size = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    state.progress(1.0, "Loaded")
    return LoadedModel(
        key=key or f"{source.name} [{device}, {dtype}]",
        name=source.name,
        source=source,
        model=model,
        tokenizer=tokenizer,
        device=device,
        dtype=dtype,
        architecture=type(model).__name__,
        heads=heads,
        param_count=params,
        bytes=size,
    )


class ModelRegistry:
    """Every loaded model, by key; safe to use from a worker thread and the GUI thread."""

    def __init__(self) -> None:
        self._models: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()

    def models(self) -> list[LoadedModel]:
        with self._lock:
            return list(self._models.values())

    def get(self, key: str) -> LoadedModel:
        with self._lock:
            return self._models[key]

    def with_head(self, head: str) -> list[LoadedModel]:
        return [m for m in self.models() if m.has_head(head)]

    def find(self, path: Path, device: str, dtype: str) -> LoadedModel | None:
        resolved = path.resolve()
        return next(
            (
                m
                for m in self.models()
                if m.path.resolve() == resolved and m.device == device and m.dtype == dtype
            ),
            None,
        )

    def load(
        self,
        spec: str,
        device: str = "cpu",
        dtype: str = "float32",
        *,
        duplicate: str = "error",
        trust_remote_code: bool = False,
        state: TaskState | None = None,
    ) -> LoadedModel:
        """Resolve and load `spec`; `duplicate` says what to do if it is already loaded: error|reuse|copy."""
        source = resolve(spec, trust_remote_code=trust_remote_code, state=state)
        existing = self.find(source.path, device, dtype)
        if existing is not None:
            if duplicate == "reuse":
                return existing
            if duplicate != "copy":
                raise DuplicateModelError(
                    f"{source.name} is already loaded on {device} as {dtype}: reuse it or load a second copy.",
                    existing.key,
                )
        key = self._free_key(f"{source.name} [{device}, {dtype}]")
        loaded = load_model(source, device, dtype, trust_remote_code=trust_remote_code, state=state, key=key)
        with self._lock:
            self._models[loaded.key] = loaded
        return loaded

    def add(self, loaded: LoadedModel) -> LoadedModel:
        """Register a model built elsewhere (e.g. a fine-tuned one), under a unique key."""
        loaded.key = self._free_key(loaded.key)
        with self._lock:
            self._models[loaded.key] = loaded
        return loaded

    def _free_key(self, base: str) -> str:
        with self._lock:
            key, n = base, 2
            while key in self._models:
                key, n = f"{base} #{n}", n + 1
            return key

    def unload(self, key: str) -> None:
        """Drop the model and give its memory back (GPU caches too)."""
        with self._lock:
            loaded = self._models.pop(key)
        device = loaded.device
        loaded.model = None
        loaded.tokenizer = None
        del loaded
        release_memory(device)
