"""Measure one variant of a classifier on this machine: size, peak memory, latency, throughput, answers.

Every variant goes through the same steps on the same rows, one after the other in this process, with the
same number of intra-op threads (1 by default, so that the figures do not depend on what else the machine
runs and are what one request on one core costs): tokenization is part of every timing, as it is of every
prediction a user makes.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lmstudio_app.core.finetune.evaluate import confusion, per_class_scores
from lmstudio_app.core.models.onnx_runtime import OnnxClassifier
from lmstudio_app.core.optimize.export import load_torch_classifier
from lmstudio_app.core.optimize.memory import PeakMemory
from lmstudio_app.core.optimize.rows import EvalRows
from lmstudio_app.core.tasks import TaskState

BATCH = 32
LATENCY_CALLS = 60  # single-text predictions timed per variant (after WARMUP_CALLS untimed ones)
WARMUP_CALLS = 5


@dataclass(frozen=True)
class VariantSpec:
    """What to measure: a torch model folder, or an ONNX file run by ONNX Runtime with the tokenizer and
    config.json of `folder`."""

    name: str
    folder: Path
    onnx_file: Path | None = None
    max_length: int = 512


@dataclass
class VariantResult:
    """One row of the comparison table (`predicted` stays out of the saved JSON)."""

    name: str
    runtime: str
    path: str | None  # None: not kept (the fp32 file an int8 run starts from)
    size_mb: float
    peak_memory_mb: float
    latency_ms_p50: float
    latency_ms_p95: float
    throughput_batch32: float | None  # texts per second (None: not measured, e.g. fill-mask)
    accuracy: float | None = None
    macro_f1: float | None = None
    agreement: float | None = None
    predicted: list[str] | None = None

    def to_dict(self) -> dict:
        keys = (
            "name", "runtime", "path", "size_mb", "peak_memory_mb", "latency_ms_p50", "latency_ms_p95",
            "throughput_batch32", "accuracy", "macro_f1", "agreement",
        )  # fmt: skip
        return {k: getattr(self, k) for k in keys}


Predict = Callable[[list[str], list[str] | None], np.ndarray]


def size_mb(spec: VariantSpec) -> float:
    """The model's weights on disk in MB (10^6 bytes): the ONNX file, or the folder's safetensors files."""
    files = [spec.onnx_file] if spec.onnx_file else list(spec.folder.glob("*.safetensors"))
    return sum(os.path.getsize(f) for f in files) / 1e6


def measure(
    spec: VariantSpec, rows: EvalRows, threads: int = 1, state: TaskState | None = None
) -> VariantResult:
    """Load `spec` afresh, time it on `rows` and keep its predicted labels (see the module docstring)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with PeakMemory() as peak:
            model, tokenizer, runtime = _load(spec, threads)
            labels = [str(model.config.id2label[i]) for i in range(len(model.config.id2label))]
            predict = predictor(model, tokenizer, spec.max_length)
            latencies = _latencies(predict, rows, state)
            logits, seconds = batched_logits(predict, rows, state)
        del model, predict
    finally:
        torch.set_num_threads(previous)
        gc.collect()
    return VariantResult(
        name=spec.name,
        runtime=runtime,
        path=str(spec.onnx_file or spec.folder),
        size_mb=round(size_mb(spec), 2),
        peak_memory_mb=round(peak.added_mb, 1),
        latency_ms_p50=round(float(np.percentile(latencies, 50)) * 1000, 3),
        latency_ms_p95=round(float(np.percentile(latencies, 95)) * 1000, 3),
        throughput_batch32=round(len(rows) / seconds, 1),
        predicted=[labels[i] for i in logits.argmax(axis=-1)],
    )


def _load(spec: VariantSpec, threads: int) -> tuple[Any, Any, str]:
    import transformers

    if spec.onnx_file is not None:
        tokenizer = transformers.AutoTokenizer.from_pretrained(spec.folder, local_files_only=True)
        return OnnxClassifier(spec.folder, threads, onnx_file=spec.onnx_file), tokenizer, "ONNX Runtime"
    model, tokenizer = load_torch_classifier(spec.folder, dtype="auto")
    return model, tokenizer, f"torch {str(model.dtype).removeprefix('torch.')}"


def predictor(model: Any, tokenizer: Any, max_length: int) -> Predict:
    import torch

    def predict(texts: list[str], pairs: list[str] | None) -> np.ndarray:
        enc = tokenizer(
            texts, pairs, truncation=True, max_length=max_length, padding=True, return_tensors="pt"
        )
        with torch.inference_mode():
            return model(**enc).logits.float().numpy()

    return predict


def _latencies(predict: Predict, rows: EvalRows, state: TaskState | None) -> list[float]:
    """Seconds per single-text prediction over the rows in turn (cycling when there are fewer)."""
    n = len(rows)
    for i in range(WARMUP_CALLS):
        predict([rows.texts[i % n]], [rows.pairs[i % n]] if rows.pairs else None)
    out = []
    for i in range(LATENCY_CALLS):
        if state is not None:
            state.raise_if_stopped()
        start = time.perf_counter()
        predict([rows.texts[i % n]], [rows.pairs[i % n]] if rows.pairs else None)
        out.append(time.perf_counter() - start)
    return out


def batched_logits(predict: Predict, rows: EvalRows, state: TaskState | None) -> tuple[np.ndarray, float]:
    """Logits of every row in batches of 32 texts of similar length (as the app predicts a table), and
    the seconds it took."""
    order = sorted(
        range(len(rows)), key=lambda i: len(rows.texts[i]) + (len(rows.pairs[i]) if rows.pairs else 0)
    )
    parts: list[tuple[list[int], np.ndarray]] = []
    start = time.perf_counter()
    for at in range(0, len(order), BATCH):
        if state is not None:
            state.raise_if_stopped()
        idx = order[at : at + BATCH]
        pairs = [rows.pairs[i] for i in idx] if rows.pairs else None
        parts.append((idx, predict([rows.texts[i] for i in idx], pairs)))
    seconds = time.perf_counter() - start
    logits = np.empty((len(rows), parts[0][1].shape[-1]), dtype=np.float32)
    for idx, values in parts:
        logits[idx] = values
    return logits, seconds


def score(result: VariantResult, rows: EvalRows, classes: list[str], reference: list[str] | None) -> None:
    """Fill accuracy and macro-F1 (over `classes`, as the run's own evaluation) and agreement with the
    original's predictions (`reference`)."""
    predicted = result.predicted or []
    if reference is not None:
        result.agreement = round(
            float(np.mean([a == b for a, b in zip(predicted, reference, strict=True)])), 4
        )
    if rows.labels is None:
        return
    index = {c: i for i, c in enumerate(classes)}
    y_true = np.asarray([index[label] for label in rows.labels])
    other = len(classes)  # a compared model may answer classes the original lacks: one extra column
    y_pred = np.asarray([index.get(label, other) for label in predicted])
    matrix = confusion(y_true, y_pred, len(classes) + 1)
    result.accuracy = round(float(np.mean(y_true == y_pred)), 4)
    result.macro_f1 = round(float(per_class_scores(matrix)[2][:other].mean()), 4)
