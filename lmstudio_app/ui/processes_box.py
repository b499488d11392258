"""The "Processes / GPUs" setting both training wizards show on their Settings page."""

from __future__ import annotations

from PySide6.QtWidgets import QSpinBox


def processes_box(value: int = 1) -> QSpinBox:
    """1 to 64 training processes, with what the number means for the batch size."""
    box = QSpinBox(minimum=1, maximum=64, value=value)
    box.setToolTip(
        "Training processes: one per GPU (NCCL), or several on the CPU (gloo). The batch size stays the "
        "whole step's batch, split among them, so it must divide by this number."
    )
    return box
