"""Soft targets for a distillation: the loss, the teacher's logits, and the Trainer pieces that carry them.

The teacher's logits are computed once for the training rows, before training, not at every step: the
teacher is frozen and in eval mode (no dropout), so each row's soft target is the same at every epoch,
and one forward pass per row costs less than one per row and epoch. They travel with each row as
`teacher_logits`; the loss (Hinton et al. 2015) is

    alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)

with the KL averaged over the batch; T^2 keeps the soft part's gradients the size of the hard part's.
Rows without soft targets (the validation rows) get the model's own cross-entropy, so the validation loss
that early stopping watches is the one a fine-tune reports.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lmstudio_app.core.finetune.encode import EncodedDataset
from lmstudio_app.core.tasks import TaskState

SOFT_KEY = "teacher_logits"
TEACHER_BATCH = 32


def distillation_loss(
    student_logits: Any, teacher_logits: Any, labels: Any, temperature: float, alpha: float
) -> Any:
    """The soft-target loss of a batch (see the module docstring), in float32 whatever the logits' dtype."""
    import torch.nn.functional as F

    s = student_logits.float()
    t = teacher_logits.float().to(s.device)
    soft = F.kl_div(
        F.log_softmax(s / temperature, dim=-1),
        F.log_softmax(t / temperature, dim=-1),
        reduction="batchmean",
        log_target=True,
    )
    hard = F.cross_entropy(s, labels.to(s.device))
    return alpha * temperature**2 * soft + (1 - alpha) * hard


def teacher_logits(
    model: Any, tokenizer: Any, rows: EncodedDataset, device: str, state: TaskState
) -> np.ndarray:
    """The teacher's logits (float32, row order) for `rows`, encoded with the teacher's own tokenizer;
    batches of similar length, so that little of each is padding."""
    import torch
    from transformers import DataCollatorWithPadding

    collate = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8)
    order = rows.length_order()
    out = np.empty((len(rows), int(model.config.num_labels)), dtype=np.float32)
    model.to(device).eval()
    for start in range(0, len(order), TEACHER_BATCH):
        state.raise_if_stopped()
        state.progress(start / len(order), f"Teacher's soft targets: {start:,} of {len(order):,} rows")
        idx = order[start : start + TEACHER_BATCH]
        batch = collate([{k: v for k, v in rows[i].items() if k != "labels"} for i in idx])
        with torch.inference_mode():
            out[idx] = model(**batch.to(device)).logits.float().cpu().numpy()
    return out


class SoftTargetDataset(EncodedDataset):
    """Encoded rows that carry the teacher's logits for each row."""

    def __init__(self, rows: EncodedDataset, soft: np.ndarray) -> None:
        super().__init__(rows.ids, rows.types, rows.labels)
        self.soft = soft

    def __getitem__(self, i: int) -> dict:
        return {**super().__getitem__(i), SOFT_KEY: self.soft[i]}


class SoftTargetCollator:
    """Pads a batch with `base` and stacks the rows' teacher logits beside it (rows without any pass through)."""

    def __init__(self, base: Any) -> None:
        self.base = base

    def __call__(self, features: list[dict]) -> Any:
        import torch

        if not features or SOFT_KEY not in features[0]:
            return self.base(features)
        soft = np.stack([f[SOFT_KEY] for f in features])
        batch = self.base([{k: v for k, v in f.items() if k != SOFT_KEY} for f in features])
        batch[SOFT_KEY] = torch.as_tensor(soft, dtype=torch.float32)
        return batch


def distillation_trainer(base: type, temperature: float, alpha: float) -> type:
    """`base` (a Trainer class) whose loss on rows with soft targets is the distillation loss."""

    class DistillationTrainer(base):
        loss_is_scaled_for_ga = False  # a mean over the batch: the Trainer divides it for accumulation

        def compute_loss(
            self, model: Any, inputs: dict, return_outputs: bool = False, num_items_in_batch: Any = None
        ) -> Any:
            soft = inputs.pop(SOFT_KEY, None)
            if soft is None:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            loss = distillation_loss(outputs.logits, soft, labels, temperature, alpha)
            return (loss, outputs) if return_outputs else loss

    return DistillationTrainer
