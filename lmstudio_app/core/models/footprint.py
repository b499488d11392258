"""How much memory a model will take, said before its weights are read.

From a folder's safetensors headers alone (no torch): every stored tensor once (tied weights are stored
once), whatever the model family. From its config (`model_footprint`): the parameters of the model a
given auto class builds, counted on the meta device, and the activations of a training step at a batch
size and length. Estimates to warn with, never a reason to refuse a load.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BYTES_PER_VALUE = {"float32": 4, "float16": 2, "bfloat16": 2}


def _header(file: Path) -> dict:
    with open(file, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(size))


def stored_values(folder: Path) -> int:
    """The number of values (parameters and saved buffers) in the folder's safetensors files."""
    return sum(
        math.prod(entry["shape"])
        for file in sorted(folder.glob("*.safetensors"))
        for name, entry in _header(file).items()
        if name != "__metadata__"
    )


def estimate_bytes(folder: Path, dtype: str) -> int:
    """Bytes the weights take on the device in `dtype` (float32, float16 or bfloat16)."""
    return stored_values(folder) * BYTES_PER_VALUE[dtype]


# ---- from the config: parameters on the meta device, activations of a training step ----------------------
# fp32 weights, their gradients and AdamW's two moments; mixed precision keeps fp32 master weights too.
TRAINING_BYTES_PER_PARAMETER = 16
HALF_PRECISIONS = ("bf16", "fp16", "bfloat16", "float16")


@dataclass(frozen=True)
class Shape:
    """What the activation estimate needs from a transformer config (GPT-2's n_embd etc. map to these)."""

    layers: int
    hidden: int
    heads: int
    intermediate: int

    @classmethod
    def of(cls, config: Any) -> Shape:
        hidden = int(config.hidden_size)
        return cls(
            int(config.num_hidden_layers),
            hidden,
            int(config.num_attention_heads),
            int(getattr(config, "intermediate_size", None) or getattr(config, "n_inner", None) or 4 * hidden),
        )


@dataclass(frozen=True)
class Footprint:
    """A model's size known before its weights are read: parameter count and layer shape."""

    parameters: int
    shape: Shape

    def weight_bytes(self, dtype: str) -> int:
        return self.parameters * BYTES_PER_VALUE[dtype]

    def per_dtype(self) -> dict[str, int]:
        return {dtype: self.weight_bytes(dtype) for dtype in BYTES_PER_VALUE}

    def training_bytes(self, batch: int, length: int, precision: str = "fp32") -> int:
        """Weights, gradients and optimizer state plus the activations one training step keeps."""
        activations = activation_bytes(self.shape, batch, length, precision)
        return self.parameters * TRAINING_BYTES_PER_PARAMETER + activations


def config_parameters(config: Any, auto_class: str = "AutoModel") -> int:
    """Parameters of the model `auto_class` builds from `config`, built on the meta device: no weights are
    allocated, so a 7B config counts in a blink. Tied weights count once, as in `model.parameters()`."""
    import torch
    import transformers

    with torch.device("meta"):
        model = getattr(transformers, auto_class).from_config(config)
    return sum(p.numel() for p in model.parameters())


def model_footprint(folder: Path, auto_class: str | None = None, **overrides: Any) -> Footprint:
    """The footprint of the folder's model as `auto_class` builds it (default: the class the registry
    loads); `overrides` change the config first, e.g. num_labels for a classifier to be trained."""
    from transformers import AutoConfig

    from lmstudio_app.core.models.registry import detect_heads

    config = AutoConfig.from_pretrained(folder, local_files_only=True, **overrides)
    return Footprint(config_parameters(config, auto_class or detect_heads(folder)[0]), Shape.of(config))


def activation_bytes(shape: Shape, batch: int, length: int, precision: str = "fp32") -> int:
    """Bytes of the activations autograd keeps during one training forward pass of an encoder.

    Counted per layer after Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer
    Models", section 4.1), in values, with the MLP width i as it is: attention 5 sbh (QKV input, Q, K, V,
    projection input) + 3 a·s²·b (softmax output, dropout mask and output), MLP sbh + 2 sbi, two layer
    norms 2 sbh, two dropout masks 2 sbh; the embeddings' 2 sbh once. PyTorch keeps dropout masks on the
    CPU as floats and its CPU attention keeps the s² matrices, so every value takes the activation size
    (a test holds this within 10 % of what autograd saves for MiniLM); GPU kernels that fuse attention
    keep less. Under bf16/fp16 autocast the attention matrices stay fp32 (softmax runs in fp32), the
    rest takes 2 bytes.
    """
    s, b, h, i, a = length, batch, shape.hidden, shape.intermediate, shape.heads
    half = precision in HALF_PRECISIONS
    linear = shape.layers * (10 * s * b * h + 2 * s * b * i) + 2 * s * b * h
    attention = shape.layers * 3 * a * s * s * b
    return linear * (2 if half else 4) + attention * 4
