"""Devices the machine offers (CPU, every CUDA GPU, Apple MPS), their memory and the dtypes they can run."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from lmstudio_app.core.errors import DeviceError
from lmstudio_app.core.models.imports import import_quietly

DTYPES = ("float32", "float16", "bfloat16")


@dataclass(frozen=True)
class DeviceInfo:
    """One device as the user sees it in the device picker."""

    id: str  # "cpu", "cuda:0", "mps"
    name: str
    total_bytes: int
    free_bytes: int
    dtypes: tuple[str, ...] = field(default=DTYPES)

    @property
    def label(self) -> str:
        return f"{self.id} - {self.name} ({format_bytes(self.free_bytes)} free of {format_bytes(self.total_bytes)})"


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _cpu() -> DeviceInfo:
    import platform

    import psutil

    mem = psutil.virtual_memory()
    name = platform.processor() or platform.machine() or "CPU"
    # float16 matmuls on CPUs are emulated and very slow, so only fp32 and bf16 are offered there.
    return DeviceInfo(
        "cpu", f"{name}, {psutil.cpu_count()} threads", mem.total, mem.available, ("float32", "bfloat16")
    )


def list_devices() -> list[DeviceInfo]:
    """Every usable device, GPUs first (they are what the user most likely wants)."""
    import_quietly("torch")
    import torch

    found: list[DeviceInfo] = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(i)
            dtypes = DTYPES if torch.cuda.is_bf16_supported() else ("float32", "float16")
            found.append(DeviceInfo(f"cuda:{i}", torch.cuda.get_device_name(i), total, free, dtypes))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        import psutil

        mem = psutil.virtual_memory()
        found.append(DeviceInfo("mps", "Apple GPU (MPS)", mem.total, mem.available, ("float32", "float16")))
    found.append(_cpu())
    return found


def default_device() -> str:
    return list_devices()[0].id


def check_device_dtype(device: str, dtype: str) -> DeviceInfo:
    """The device's info, or a DeviceError that says what to pick instead."""
    if dtype not in DTYPES:
        raise DeviceError(f"Unknown dtype {dtype!r}: choose one of {', '.join(DTYPES)}.")
    devices = {d.id: d for d in list_devices()}
    if device == "cuda":
        device = "cuda:0"
    info = devices.get(device)
    if info is None:
        raise DeviceError(f"Device {device} is not present on this machine; available: {', '.join(devices)}.")
    if dtype not in info.dtypes:
        raise DeviceError(
            f"{dtype} is not supported on {device} ({info.name}); use {' or '.join(info.dtypes)}."
        )
    return info


def memory_used(device: str) -> int:
    """Bytes in use: allocated tensors on a GPU, the process's resident memory on the CPU."""
    if device.startswith("cuda") and "torch" in sys.modules:
        import torch

        return int(torch.cuda.memory_allocated(torch.device(device)))
    import psutil

    return int(psutil.Process().memory_info().rss)


def release_memory(device: str) -> None:
    """Give cached GPU blocks back to the driver after a model is dropped."""
    import gc

    gc.collect()
    if "torch" not in sys.modules:
        return
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device == "mps" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        torch.mps.empty_cache()
