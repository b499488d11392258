"""Run an optimized (ONNX) model folder with ONNX Runtime behind the calls the torch models answer.

An optimized folder (`lmstudio-app optimize -o DIR`) holds `model.onnx`, the tokenizer, the original
config.json (so the labels travel) and `optimized.json` saying what it is. The classifier here is called
like a transformers one (`model(**encoded).logits`, `model.config.id2label`), so the fine-tune predict
functions use either kind unchanged; the masked LM answers the fill-mask scorer's `logits(rows, positions)`.
It lives below the feature packages because both fine-tune prediction and fill-mask use it.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lmstudio_app.core.errors import ModelSourceError, UserError
from lmstudio_app.core.jsonio import read_json

ONNX_FILE = "model.onnx"
OPTIMIZED_FILE = "optimized.json"  # kind ("classifier" | "masked-lm"), method, source folder, max length
KIND_CLASSIFIER = "classifier"
KIND_MASKED_LM = "masked-lm"


def onnxruntime_module() -> Any:
    """The onnxruntime module, or a UserError that says how to install it."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise UserError(
            "ONNX Runtime is not installed, so optimized models cannot run here: pip install onnxruntime."
        ) from exc
    return onnxruntime


def is_onnx_folder(folder: Path | str) -> bool:
    folder = Path(folder)
    return (folder / ONNX_FILE).is_file() and (folder / OPTIMIZED_FILE).is_file()


def onnx_info(folder: Path | str) -> dict:
    """optimized.json of an optimized folder ({} when there is none)."""
    return read_json(Path(folder) / OPTIMIZED_FILE)


def open_session(onnx_file: Path | str, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session; `threads` fixes the intra-op threads (1 for latency measurements),
    None leaves ONNX Runtime's default (all physical cores)."""
    ort = onnxruntime_module()
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: its graph-optimisation notes are not the user's concern
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for damaged files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelSourceError(f"ONNX Runtime cannot open {onnx_file}: {first}") from exc


def _require_cpu(device: str, folder: Path) -> None:
    if device != "cpu":
        raise UserError(
            f"{folder} is an optimized ONNX model: it runs on the CPU with ONNX Runtime; use device cpu."
        )


class OnnxClassifier:
    """A sequence classifier run by ONNX Runtime, called like the transformers one it was exported from."""

    def __init__(
        self, folder: Path, threads: int | None = None, device: str = "cpu", onnx_file: Path | None = None
    ) -> None:
        """`folder` holds config.json (the labels); `onnx_file` defaults to its model.onnx."""
        import transformers

        _require_cpu(device, folder)
        self.folder = Path(folder)
        self.config = transformers.AutoConfig.from_pretrained(self.folder, local_files_only=True)
        self.session = open_session(onnx_file or self.folder / ONNX_FILE, threads)
        self.input_names = [i.name for i in self.session.get_inputs()]

    def __call__(self, **inputs: Any) -> SimpleNamespace:
        """`inputs` as a tokenizer gives them (torch or numpy); logits come back as a float32 torch tensor."""
        import numpy as np
        import torch

        feed = {name: np.asarray(_as_numpy(inputs[name]), dtype=np.int64) for name in self.input_names}
        return SimpleNamespace(logits=torch.from_numpy(self.session.run(None, feed)[0]))

    def to(self, device: str) -> OnnxClassifier:
        _require_cpu(str(device), self.folder)
        return self

    def eval(self) -> OnnxClassifier:
        return self


class OnnxMaskedLM:
    """A masked LM exported with its head applied at asked positions only (see core/optimize/export.py):
    the fill-mask scorer's `logits(rows, positions)`, one float32 tensor per row; `config` is the
    exported model's (vocabulary size, position limit)."""

    def __init__(self, onnx_file: Path, pad_id: int, config: Any, threads: int | None = None) -> None:
        self.session = open_session(onnx_file, threads)
        self.pad = pad_id
        self.config = config

    def logits(self, rows: list[list[int]], positions: list[list[int]]) -> list[Any]:
        import numpy as np
        import torch

        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.pad, dtype=np.int64)
        attention = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            attention[i, : len(row)] = 1
        feed = {
            "input_ids": ids,
            "attention_mask": attention,
            "rows": np.asarray([i for i, p in enumerate(positions) for _ in p], dtype=np.int64),
            "positions": np.asarray([q for p in positions for q in p], dtype=np.int64),
        }
        out = torch.from_numpy(self.session.run(None, feed)[0])
        return list(out.split([len(p) for p in positions]))


def load_masked_lm(folder: Path, threads: int | None = None) -> tuple[OnnxMaskedLM, Any]:
    """(model, tokenizer) of an optimized masked-LM folder; the model goes where fill_mask takes one."""
    import transformers

    folder = Path(folder)
    if onnx_info(folder).get("kind") != KIND_MASKED_LM:
        raise ModelSourceError(f"{folder} is not an optimized masked LM (see its {OPTIMIZED_FILE}).")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
        config = transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelSourceError(f"Could not load {folder}: {str(exc).splitlines()[0]}") from exc
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return OnnxMaskedLM(folder / ONNX_FILE, pad, config, threads), tokenizer


def _as_numpy(value: Any) -> Any:
    return value.numpy() if hasattr(value, "numpy") else value
