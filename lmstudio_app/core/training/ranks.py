"""One training process among several (a torchrun rank): who it is, its share of the batch, and stopping together.

torchrun tells each process its place through the environment (RANK, LOCAL_RANK, WORLD_SIZE). The ranks
train one model in lockstep: every step ends in a collective gradient exchange, so a rank that stops
alone leaves the others waiting for ever. Cancelling is therefore agreed on at every step (`any_rank`),
and the launcher's request to stop (core/training/launch.py) reaches each rank through a file.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.tasks import TaskState

STOP_FILE_ENV = "LMSTUDIO_STOP_FILE"  # set by the launcher: the file appears when the user cancels
STOP_POLL_S = 0.2


def world_size() -> int:
    """How many processes train this run (1 unless started by torchrun or accelerate launch)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def local_rank() -> int:
    try:
        return int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        return 0


def per_process_batch(batch_size: int, processes: int) -> int:
    """The rows each process takes per step: the batch is the global one, split evenly, so that a run means
    the same with any number of processes."""
    if processes < 1:
        raise UserError(f"The number of processes must be at least 1, not {processes}.")
    if batch_size < processes:
        raise UserError(
            f"A batch of {batch_size} rows cannot be split over {processes} processes: use a batch size of at "
            f"least {processes} (a multiple of {processes}) or fewer processes."
        )
    if batch_size % processes:
        raise UserError(
            f"The batch size {batch_size} does not divide over {processes} processes (it is the global batch, "
            f"split evenly): use a multiple of {processes}, e.g. {batch_size - batch_size % processes}."
        )
    return batch_size // processes


def bind_device(device: str) -> None:
    """On GPUs, make "cuda" mean this rank's own GPU (one process per device)."""
    if device == "cuda" and world_size() > 1:
        import torch

        torch.cuda.set_device(local_rank())


def any_rank(flag: bool, device: object) -> bool:
    """True on every rank when it is true on at least one: the ranks stop at the same step."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return flag
    agreed = torch.tensor([int(flag)], device=device)
    dist.all_reduce(agreed, op=dist.ReduceOp.MAX)
    return bool(agreed.item())


def wait_for_all() -> None:
    """A barrier: rank 0 has recorded the end of the run before any rank leaves (a rank that exits first
    makes torchrun stop the others)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()


def gather_for_rank_0(trainer: Any) -> None:
    """Sharded weights (FSDP, DeepSpeed) are gathered by every rank together, yet the jobs save their model
    on rank 0 alone: gather them here, on every rank, and have rank 0's save write what was gathered."""
    if not (trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled):
        return
    gathered = trainer.accelerator.get_state_dict(
        trainer.deepspeed if trainer.is_deepspeed_enabled else trainer.model
    )
    if trainer.args.should_save:

        def save_model(output_dir: str | None = None, _internal_call: bool = False) -> None:
            trainer._save(output_dir, state_dict=gathered)

        trainer.save_model = save_model


@contextlib.contextmanager
def stop_when_asked(state: TaskState) -> Iterator[None]:
    """While a launched rank trains, watch for the launcher's stop file and then ask `state` to stop."""
    path = os.environ.get(STOP_FILE_ENV)
    if not path or world_size() < 2:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.wait(STOP_POLL_S):
            if Path(path).exists():
                state.request_stop()
                return

    watcher = threading.Thread(target=watch, name="stop-file", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
