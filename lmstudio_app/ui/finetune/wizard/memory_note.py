"""The Settings page's memory line: the base model's size and what one training step needs, said before
any weights are loaded (parameters from the config on the meta device, activations from the batch size,
max length and precision). An estimate to warn with: it never blocks Train."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel

from lmstudio_app.core.models.devices import format_bytes
from lmstudio_app.core.models.footprint import TRAINING_BYTES_PER_PARAMETER, activation_bytes
from lmstudio_app.ui.qthreading import LatestOnly

NAMES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


def count_text(n: int) -> str:
    """A parameter count in the unit that keeps a digit before the point: 27.0 k, 22.7 M, 1.3 B."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return str(n)


def _size_job(spec: str, data: Any, device: str, *, state: Any) -> tuple:
    """(footprint of what the job trains, the precision `auto` means on `device`)."""
    from lmstudio_app.core.choose.rank import classifier_footprint
    from lmstudio_app.core.data.labeled import LabeledData
    from lmstudio_app.core.models.footprint import model_footprint
    from lmstudio_app.core.models.local import resolve_local
    from lmstudio_app.core.models.precision import resolve_device, resolve_precision

    folder = resolve_local(spec).path
    if isinstance(data, LabeledData):  # a sentence classifier: the head for these classes
        footprint = classifier_footprint(folder, len(data.label_names))
    else:  # tags and answers add heads of a few thousand values: the encoder stands for them
        footprint = model_footprint(folder, "AutoModel")
    return footprint, resolve_precision("auto", resolve_device(device))


class MemoryNote(QLabel):
    """Call `estimate` when the base model is known, `show_for` when batch, length or precision change."""

    def __init__(self) -> None:
        super().__init__(wordWrap=True)
        self.footprint: Any = None  # core.models.footprint.Footprint of the sized model
        self.auto_precision = "fp32"
        self._settings: tuple[int, int, str] = (16, 128, "auto")
        self.sizer = LatestOnly(self)

    def estimate(self, spec: str, data: Any, device: str) -> None:
        """Estimate `spec`'s size on a worker; the line shows once it is known (nothing on an error)."""
        self.clear_estimate()
        worker = self.sizer.submit(_size_job, spec, data, device)
        worker.result.connect(self._sized)
        worker.start()

    def clear_estimate(self) -> None:
        self.footprint = None
        self.setText("")

    def _sized(self, value: tuple) -> None:
        self.footprint, self.auto_precision = value
        self._refresh()

    def show_for(self, batch: int, length: int, precision: str) -> None:
        self._settings = (batch, length, precision)
        self._refresh()

    def training_bytes(self) -> int:
        batch, length, precision = self._settings
        return self.footprint.training_bytes(batch, length, self._precision())

    def _precision(self) -> str:
        precision = self._settings[2]
        return self.auto_precision if precision == "auto" else precision

    def _refresh(self) -> None:
        size = self.footprint
        if size is None:
            return
        batch, length, _ = self._settings
        precision = self._precision()
        activations = activation_bytes(size.shape, batch, length, precision)
        self.setText(
            f"{count_text(size.parameters)} parameters, {format_bytes(size.weight_bytes('float32'))} of "
            f"weights. Training needs about <b>{format_bytes(self.training_bytes())}</b>: "
            f"{format_bytes(TRAINING_BYTES_PER_PARAMETER * size.parameters)} for weights, gradients and "
            f"AdamW, {format_bytes(activations)} of activations at batch {batch} × {length} tokens in "
            f"{NAMES.get(precision, precision)} (an estimate)."
        )
