"""The out-of-memory policy on its own: half the batch, twice the accumulation, until batch 1."""

from __future__ import annotations

from lmstudio_app.core.training.oom import smaller_batch


def test_the_effective_batch_is_kept_while_the_batch_halves():
    steps, batch, accum = [], 16, 1
    while (smaller := smaller_batch(batch, accum)) is not None:
        batch, accum = smaller
        steps.append((batch, accum))
    assert steps == [(8, 2), (4, 4), (2, 8), (1, 16)]
    assert all(b * a == 16 for b, a in steps)


def test_an_odd_batch_rounds_down_and_batch_one_gives_up():
    assert smaller_batch(5, 3) == (2, 6)
    assert smaller_batch(1, 8) is None
