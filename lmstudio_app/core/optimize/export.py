"""Export a classifier or a masked LM to ONNX with torch's TorchScript exporter (dynamo=False).

The TorchScript exporter is used because it handles transformers 5's models with dynamic batch and
sequence axes in one call, and Optimum (the usual route) does not support transformers 5. A masked LM is
exported with its vocabulary head applied at asked positions only (inputs `rows`, `positions`), the
shape the fill-mask scorer calls: projecting every position onto the vocabulary would cost most of the time.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import ModelSourceError, UserError
from lmstudio_app.core.jsonio import atomic_path, disk_refusal
from lmstudio_app.core.models.heads import split_masked_lm
from lmstudio_app.core.models.quiet import quiet_transformers

OPSET = 17  # LayerNormalization is one node from opset 17: faster in ONNX Runtime than its decomposition
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def load_torch_classifier(model_dir: Path, dtype: str = "float32") -> tuple[Any, Any]:
    """(model, tokenizer) of a fine-tuned folder, fresh (not the predict cache), in eval mode on the CPU."""
    import transformers

    with quiet_transformers():
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                model_dir, local_files_only=True, use_safetensors=True, dtype=dtype
            )
        except (OSError, ValueError) as exc:
            raise ModelSourceError(f"Could not load {model_dir}: {str(exc).splitlines()[0]}") from exc
    return model.eval(), tokenizer


def export_classifier(model: Any, tokenizer: Any, out_file: Path) -> Path:
    """`model` (a torch sequence classifier) as ONNX: token inputs in, `logits` out, any batch and length."""
    import torch

    sample = tokenizer(["an example", "another example text"], padding=True, return_tensors="pt")
    names = [n for n in TOKEN_INPUTS if n in sample]

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs, strict=True))).logits

    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
    _export(Logits(), tuple(sample[n] for n in names), out_file, names, axes)
    return Path(out_file)


def export_masked_lm(model: Any, tokenizer: Any, out_file: Path) -> Path:
    """`model` (a torch masked LM) as ONNX: (input_ids, attention_mask, rows, positions) -> the logits at
    (rows[i], positions[i]) for each i, shape (len(rows), vocabulary)."""
    import torch

    class AtPositions(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model
            self.split = split_masked_lm(model)  # (encoder, head), submodules of `inner`

        def forward(self, input_ids: Any, attention_mask: Any, rows: Any, positions: Any) -> Any:
            if self.split is None:
                return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits[rows, positions]
            base, head = self.split
            return head(base(input_ids=input_ids, attention_mask=attention_mask)[0][rows, positions])

    sample = tokenizer(["an example", "another example text"], padding=True, return_tensors="pt")
    picks = (torch.tensor([0, 1, 1]), torch.tensor([1, 1, 2]))
    names = ["input_ids", "attention_mask", "rows", "positions"]
    axes = {
        "input_ids": {0: "batch", 1: "sequence"},
        "attention_mask": {0: "batch", 1: "sequence"},
        "rows": {0: "picked"},
        "positions": {0: "picked"},
        "logits": {0: "picked"},
    }
    inputs = (sample["input_ids"], sample["attention_mask"], *picks)
    _export(AtPositions(), inputs, out_file, names, axes)
    return Path(out_file)


def _export(module: Any, inputs: tuple, out_file: Path, names: list[str], axes: dict) -> None:
    import torch

    if not _has("onnx"):
        raise UserError("ONNX export needs the onnx package: pip install onnx.")
    if any(p.dtype != torch.float32 or p.device.type != "cpu" for p in module.parameters()):
        module = copy.deepcopy(module).float().cpu()  # a float32 CPU copy; the caller's model stays as it is
    module.eval()
    with quiet_transformers(), warnings.catch_warnings(), atomic_path(out_file) as tmp:
        warnings.simplefilter("ignore")  # tracer notes about Python values in the model's code
        try:
            with torch.inference_mode(False), torch.no_grad():
                torch.onnx.export(
                    module,
                    inputs,
                    str(tmp),
                    input_names=names,
                    output_names=["logits"],
                    dynamic_axes=axes,
                    opset_version=OPSET,
                    dynamo=False,
                )
        except (RuntimeError, ValueError, OSError) as exc:
            refused = disk_refusal(exc, out_file)
            if refused is not None:
                raise refused from exc
            raise UserError(f"This model could not be exported to ONNX: {str(exc).splitlines()[0]}") from exc


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
