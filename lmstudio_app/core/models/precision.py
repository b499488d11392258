"""Where training runs and in which number format: device and precision choice, out-of-memory errors.

`auto` means the fastest choice that keeps accuracy: bf16 (else fp16) on CUDA GPUs, bf16 autocast on
CPUs with native bfloat16 instructions (AVX512-BF16 or AMX: measured 2.15x the fp32 speed on MiniLM
with the same accuracy), fp32 elsewhere. Saved weights are always fp32 (the Trainer keeps fp32 master
weights and autocasts the forward pass).
"""

from __future__ import annotations

from lmstudio_app.core.errors import DeviceError, UserError
from lmstudio_app.core.models.devices import default_device

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_device(device: str) -> str:
    """'auto' -> the first CUDA GPU, else Apple MPS, else CPU; an absent device is a DeviceError."""
    import torch

    device = (device or "auto").strip().lower()
    if device == "auto":  # the same preference order as the device picker: GPU, then MPS, then CPU
        return default_device().split(":")[0]
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"{device} is not available on this machine (no CUDA GPU): use --device cpu.")
        index = device.partition(":")[2]
        if index not in ("", "0"):
            raise DeviceError(
                f"Training uses the first visible GPU: run with CUDA_VISIBLE_DEVICES={index} and --device cuda."
            )
        return "cuda"
    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError("Apple MPS is not available on this machine: use --device cpu.")
        return "mps"
    if device == "cpu":
        return "cpu"
    raise DeviceError(f"Unknown device {device!r}: use auto, cpu, cuda or mps.")


def cpu_has_native_bf16() -> bool:
    """True where the CPU computes bfloat16 in hardware (AVX512-BF16 or AMX), so bf16 autocast is faster."""
    import torch

    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def resolve_precision(precision: str, device: str) -> str:
    """fp32 | bf16 | fp16 for this device (see the module docstring for what `auto` picks)."""
    import torch

    precision = (precision or "auto").lower()
    if precision not in PRECISIONS:
        raise UserError(f"Unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}.")
    if precision == "auto":
        if device == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if device == "cpu" and cpu_has_native_bf16():
            return "bf16"
        return "fp32"
    if precision == "fp16" and device == "cpu":
        raise DeviceError("fp16 training is not supported on the CPU: use fp32 (or bf16).")
    if precision == "bf16" and device == "cuda" and not torch.cuda.is_bf16_supported():
        raise DeviceError("This GPU does not support bf16: use fp16 or fp32.")
    return precision


def is_oom(exc: BaseException) -> bool:
    """True for CUDA/MPS/CPU out-of-memory errors, whatever class torch used to raise them."""
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        s in text
        for s in ("out of memory", "can't allocate memory", "failed to allocate", "mps backend out of")
    )
