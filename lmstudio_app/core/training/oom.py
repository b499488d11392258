"""What to do after an out-of-memory error: a pure policy, so it is tested without a GPU."""

from __future__ import annotations


def smaller_batch(batch_size: int, grad_accum: int) -> tuple[int, int] | None:
    """Halve the batch and double the accumulation (the same effective batch), or None at batch 1.

    An odd batch rounds down, so the effective batch may shrink by one example per step; that is
    the price of going on rather than failing.
    """
    if batch_size <= 1:
        return None
    return batch_size // 2, grad_accum * 2
