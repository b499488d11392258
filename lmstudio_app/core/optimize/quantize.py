"""int8 with ONNX Runtime's dynamic quantization, the remedies to try when it breaks a model, and whether
this CPU has the integer dot-product instructions its int8 kernels are fast (and right) with.

Dynamic quantization stores the weights as int8 and quantizes activations on the fly. It is known to
ruin some models (a MiniLM export near random, onnxruntime issue 9599): the usual culprits are one scale
for a whole weight matrix (remedy: a scale per output channel) and the quantized attention products and
embedding lookups (remedy: leave those in float32). The recipes are tried in that order.
"""

from __future__ import annotations

import contextlib
import logging
import platform
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lmstudio_app.core.jsonio import atomic_path
from lmstudio_app.core.models.onnx_runtime import onnxruntime_module


@dataclass(frozen=True)
class Recipe:
    """One way to quantize: `per_channel` weight scales; `float_attention` keeps the embeddings (Gather) and
    the attention products (MatMuls of two activations) in float32 and quantizes only the weight MatMuls."""

    name: str
    per_channel: bool
    float_attention: bool


RECIPES = (
    Recipe("int8 weights, one scale per matrix", False, False),
    Recipe("int8 weights, one scale per channel", True, False),
    Recipe("per-channel int8 weights, embeddings and attention in float32", True, True),
)


def quantize_int8(fp32_file: Path, out_file: Path, recipe: Recipe) -> Path:
    """Write the dynamically quantized copy of `fp32_file` to `out_file` (atomically)."""
    onnxruntime_module()  # a clear message when ONNX Runtime is missing
    from onnxruntime.quantization import QuantType, quantize_dynamic

    options: dict = {"op_types_to_quantize": ["MatMul"]} if recipe.float_attention else {}
    extra = {"MatMulConstBOnly": True} if recipe.float_attention else {}
    with _quiet_root_logger(), atomic_path(out_file) as tmp:
        quantize_dynamic(
            str(fp32_file),
            str(tmp),
            weight_type=QuantType.QInt8,
            per_channel=recipe.per_channel,
            extra_options=extra,
            **options,
        )
    return Path(out_file)


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """ONNX Runtime's quantizer advises pre-processing through the root logger on every call."""
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(previous)


@dataclass(frozen=True)
class Int8Support:
    """Whether the CPU has integer dot-product instructions: True, False, or None when it cannot be told."""

    fast: bool | None
    note: str


X86_DOT = ("avx512_vnni", "avx_vnni", "amx_int8")
ARM_DOT = ("asimddp",)  # "dotprod" in Arm's names; Linux lists it as asimddp


def int8_support(cpuinfo: str | None = None, machine: str | None = None) -> Int8Support:
    """Read the CPU's flags (/proc/cpuinfo on Linux; `cpuinfo`/`machine` are for tests) and say whether
    ONNX Runtime's int8 kernels get the instructions they rely on."""
    machine = (machine or platform.machine()).lower()
    arm = machine.startswith(("arm", "aarch64"))
    if cpuinfo is None:
        if platform.system() == "Darwin" and arm:
            return Int8Support(True, "Apple silicon has the Arm dot-product instructions int8 relies on.")
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return Int8Support(None, "Could not read this CPU's instruction sets: check int8's agreement.")
    flags = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            flags.update(value.split())
    wanted = ARM_DOT if arm else X86_DOT
    found = [f for f in wanted if f in flags]
    if found:
        return Int8Support(True, f"This CPU has {', '.join(found)}: ONNX Runtime's int8 kernels use it.")
    names = "dotprod (asimddp)" if arm else "AVX-VNNI or AVX512-VNNI"
    return Int8Support(
        False,
        f"This CPU lacks {names}: int8 runs slower here than the figures promise, and on some such CPUs "
        "(AVX2 only) ONNX Runtime's int8 answers were wrong; trust the agreement column, not the speed-up.",
    )
