"""The order of the training rows, a pure function of (seed, epoch): what makes resume exact.

transformers' length-grouped sampler draws each epoch's order from torch's global random state at
the moment the epoch starts. A run resumed mid-epoch restores that state only after the order was
drawn, so from the next epoch on it trains on another order than the run it continues (weights off
by ~1e-2 after one epoch). Here each epoch's order is drawn from its own generator seeded with
seed + epoch; the Trainer calls `set_epoch` before every epoch, resumed or not.

Under several processes every rank draws the same order (same seed) and accelerate gives rank r the
r-th slice of each global batch, so N processes train on the very rows one process would, step by step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler
from transformers.trainer_pt_utils import get_length_grouped_indices


class EpochSampler(Sampler[int]):
    """Random order per epoch, grouped by length when lengths are given (little padding per batch)."""

    def __init__(self, n: int, seed: int, lengths: Sequence[int] | None = None, group_size: int = 1) -> None:
        self.n, self.seed, self.lengths, self.group_size = n, seed, lengths, group_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        if self.lengths is None:
            return iter(torch.randperm(self.n, generator=generator).tolist())
        return iter(get_length_grouped_indices(list(self.lengths), self.group_size, generator=generator))


def exact_resume(trainer_class: type, lengths: Sequence[int] | None) -> type:
    """`trainer_class` with its training rows in an EpochSampler order."""

    class ExactResumeTrainer(trainer_class):
        def _get_train_sampler(self, train_dataset=None):  # noqa: ANN001, ANN202 (Trainer's signature)
            dataset = train_dataset if train_dataset is not None else self.train_dataset
            # Grouped over the global batch (all ranks' rows of one step), the order is the same for any
            # number of processes; each rank then takes its share of every batch (accelerate's shards).
            group = self.args.train_batch_size * self.args.gradient_accumulation_steps * self.args.world_size
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return EpochSampler(len(dataset), seed, lengths, group)

    return ExactResumeTrainer
