"""Fill-mask through ONNX Runtime: an optimized masked-LM folder (`optimize -m MLM -o OUT`, then
`fill-mask -m OUT`), and the Fill-mask tab's fast runtime for a model already loaded.

The model is exported with its head at asked positions only (core/optimize/export.py), so the fill-mask
searches (joint filling, targets, several pieces) run unchanged with ONNX Runtime doing the forward passes.
A masked LM has no labelled rows: its variants are compared on masked sentences (the middle word of each
built-in sentence, or of each text of --csv) by fill-mask latency and by agreement of the top candidate.
"""

from __future__ import annotations

import gc
import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from lmstudio_app.core.errors import ModelSourceError
from lmstudio_app.core.fillmask.predict import fill_mask
from lmstudio_app.core.jsonio import write_json
from lmstudio_app.core.models.onnx_runtime import KIND_MASKED_LM, ONNX_FILE, OPTIMIZED_FILE, OnnxMaskedLM
from lmstudio_app.core.models.quiet import quiet_transformers
from lmstudio_app.core.optimize.checks import int8_check
from lmstudio_app.core.optimize.export import export_masked_lm
from lmstudio_app.core.optimize.measure import LATENCY_CALLS, WARMUP_CALLS, VariantResult
from lmstudio_app.core.optimize.memory import PeakMemory
from lmstudio_app.core.optimize.quantize import int8_support
from lmstudio_app.core.optimize.report import Comparison
from lmstudio_app.core.optimize.rows import SAMPLE_TEXTS
from lmstudio_app.core.paths import user_data_dir
from lmstudio_app.core.tasks import TaskState

_fast: dict[str, OnnxMaskedLM] = {}
_fast_lock = threading.Lock()


def fast_runtime(model: Any, tokenizer: Any, source: Path, state: TaskState | None = None) -> OnnxMaskedLM:
    """An ONNX Runtime copy of a loaded masked LM (exported once per model folder and kept on disk under
    the app's data folder, so the next start reuses it); pass it to fill_mask in place of the model."""
    key = _cache_key(Path(source))
    with _fast_lock:
        if key in _fast:
            return _fast[key]
        onnx_file = user_data_dir() / "onnx-cache" / key / ONNX_FILE
        if not onnx_file.is_file():
            if state is not None:
                state.progress(-1, "Exporting the model to ONNX for the fast runtime (once)")
            export_masked_lm(model, tokenizer, onnx_file)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        _fast[key] = OnnxMaskedLM(onnx_file, pad, model.config)
        return _fast[key]


def _cache_key(source: Path) -> str:
    """The folder and the size and time of its weight files: a re-saved model gets a new export."""
    stamps = [
        f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sorted(source.glob("*.safetensors"))
    ]
    return hashlib.sha1("|".join([str(source.resolve()), *stamps]).encode()).hexdigest()[:16]


def masked_sentences(texts: list[str], mask_token: str, limit: int = 200) -> list[str]:
    """Each text with its middle word masked (texts of fewer than three words are skipped)."""
    out = []
    for text in texts[:limit]:
        words = text.split()
        if len(words) >= 3:
            middle = len(words) // 2
            out.append(" ".join([*words[:middle], mask_token, *words[middle + 1 :]]))
    return out


def optimize_masked_lm(request: Any, build: Path, state: TaskState) -> Comparison:
    """Export (and quantize) the masked LM of `request.model_dir` into `build` and compare the variants."""
    import transformers

    model_dir = Path(request.model_dir)
    with quiet_transformers():
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
            model = transformers.AutoModelForMaskedLM.from_pretrained(model_dir, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelSourceError(f"Could not load {model_dir}: {str(exc).splitlines()[0]}") from exc
    if tokenizer.mask_token is None:
        raise ModelSourceError(f"{model_dir}'s tokenizer has no mask token, so it cannot fill masks.")
    texts = masked_sentences(_texts(request), tokenizer.mask_token)
    tokenizer.save_pretrained(str(build))
    model.config.save_pretrained(str(build))
    int8 = request.method == "onnx-int8"
    fp32_file = build / (".fp32.onnx" if int8 else ONNX_FILE)
    state.progress(0.02, "Exporting to ONNX")
    export_masked_lm(model, tokenizer, fp32_file)
    comparison = Comparison(
        request.method, KIND_MASKED_LM, str(model_dir), str(request.out_dir), len(texts),
        "masked sentences (the middle word of each)", request.threads, [],
    )  # fmt: skip
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    config = model.config
    variants: list[tuple[str, Path]] = [("original", model_dir), ("onnx-fp32", fp32_file)]
    if int8:
        support = int8_support()
        comparison.int8_cpu = {"fast": support.fast, "note": support.note}
        comparison.notes += [] if support.fast else [support.note]
        reference = _top_ids(model, tokenizer, texts)

        def answers(onnx_file: Path) -> np.ndarray:
            return _top_ids(OnnxMaskedLM(onnx_file, pad, config), tokenizer, texts)

        check = int8_check(fp32_file, build / ONNX_FILE, answers, reference, state)
        comparison.recipe, comparison.tried, comparison.suitable = check.recipe, check.tried, check.suitable
        comparison.notes += [check.note] if check.note else []
        variants.append(("onnx-int8", build / ONNX_FILE))
    del model
    for i, (name, path) in enumerate(variants):
        state.progress(0.3 + 0.65 * i / len(variants), f"Measuring {name} ({i + 1} of {len(variants)})")
        comparison.variants.append(_measure(name, path, tokenizer, texts, request.threads))
    reference_words = comparison.variants[0].predicted or []
    for variant in comparison.variants:
        words = variant.predicted or []
        variant.agreement = round(
            float(np.mean([a == b for a, b in zip(words, reference_words, strict=True)])), 4
        )
        if variant.name != "original":  # the int8 run's fp32 file is measured, then removed
            variant.path = (
                None if int8 and variant.name == "onnx-fp32" else str(Path(request.out_dir) / ONNX_FILE)
            )
    if int8:
        fp32_file.unlink()
    write_json(
        build / OPTIMIZED_FILE,
        {"kind": KIND_MASKED_LM, "method": request.method, "source": str(model_dir), "max_length": None},
    )
    return comparison


def _texts(request: Any) -> list[str]:
    if request.table is None:
        return list(SAMPLE_TEXTS)
    from lmstudio_app.core.optimize.rows import rows_from_table

    return rows_from_table(request.table).texts


def _top_ids(model: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
    """The most likely token id at the mask of each text."""
    return np.asarray(
        [fill_mask(model, tokenizer, t, top_k=1).masks[0].candidates[0].token_ids[0] for t in texts]
    )


def _measure(name: str, path: Path, tokenizer: Any, texts: list[str], threads: int) -> VariantResult:
    """Size, peak memory, fill-mask latency (one sentence a call) and top candidates of one variant: an
    ONNX file (its config.json beside it) or the original's folder, loaded afresh."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with PeakMemory() as peak:
            model, runtime = _load(path, tokenizer, threads)
            for i in range(WARMUP_CALLS):
                fill_mask(model, tokenizer, texts[i % len(texts)])
            latencies = []
            for i in range(LATENCY_CALLS):
                start = time.perf_counter()
                fill_mask(model, tokenizer, texts[i % len(texts)])
                latencies.append(time.perf_counter() - start)
            top = [fill_mask(model, tokenizer, t, top_k=1).masks[0].candidates[0].token for t in texts]
        del model
    finally:
        torch.set_num_threads(previous)
        gc.collect()
    return VariantResult(
        name, runtime, str(path), round(size_mb(path), 2), round(peak.added_mb, 1),
        round(float(np.percentile(latencies, 50)) * 1000, 3), round(float(np.percentile(latencies, 95)) * 1000, 3),
        None, predicted=top,
    )  # fmt: skip


def _load(path: Path, tokenizer: Any, threads: int) -> tuple[Any, str]:
    import transformers

    with quiet_transformers():
        if path.suffix == ".onnx":
            config = transformers.AutoConfig.from_pretrained(path.parent, local_files_only=True)
            pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
            return OnnxMaskedLM(path, pad, config, threads), "ONNX Runtime"
        model = transformers.AutoModelForMaskedLM.from_pretrained(path, local_files_only=True, dtype="auto")
    return model.eval(), f"torch {str(model.dtype).removeprefix('torch.')}"


def size_mb(path: Path) -> float:
    """An ONNX file's size, or a folder's safetensors files', in MB (10^6 bytes)."""
    files = [path] if path.is_file() else list(path.glob("*.safetensors"))
    return sum(f.stat().st_size for f in files) / 1e6
