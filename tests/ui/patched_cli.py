"""`python patched_cli.py ARGS`: the app's CLI with training patched as a GUI test's child process needs it.

The GUI runs training as `lmstudio-app ...` in a child process (ui/finetune/training_session.py), where a test
cannot monkeypatch; a test points the session's `cli_command` here instead and says what to patch:

- LMSTUDIO_TEST_GATE=FILE (and LMSTUDIO_TEST_GATE_STEP, default 5): from that step on, training waits while
  FILE exists, so the run is certainly still going when the test looks (a window closed, another opened).
- LMSTUDIO_TEST_OOM_ROWS=N: a BERT classifier's batch of more than N rows runs out of memory, as on a GPU.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path


def gate_steps(gate: Path, from_step: int) -> None:
    import transformers

    step = transformers.Trainer.training_step

    @functools.wraps(step)
    def gated(self, *args, **kwargs):
        while self.state.global_step >= from_step and gate.exists():
            time.sleep(0.05)
        return step(self, *args, **kwargs)

    transformers.Trainer.training_step = gated


def run_out_of_memory_above(rows: int) -> None:
    import torch
    from transformers import BertForSequenceClassification

    forward = BertForSequenceClassification.forward

    @functools.wraps(forward)  # keeps the signature, so the Trainer still passes labels
    def forward_that_runs_out_of_memory(self, input_ids=None, **kwargs):
        if input_ids.shape[0] > rows:
            raise torch.OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 2.00 GiB (injected by the test)"
            )
        return forward(self, input_ids=input_ids, **kwargs)

    BertForSequenceClassification.forward = forward_that_runs_out_of_memory


if __name__ == "__main__":
    if os.environ.get("LMSTUDIO_TEST_GATE"):
        gate_steps(
            Path(os.environ["LMSTUDIO_TEST_GATE"]), int(os.environ.get("LMSTUDIO_TEST_GATE_STEP", "5"))
        )
    if os.environ.get("LMSTUDIO_TEST_OOM_ROWS"):
        run_out_of_memory_above(int(os.environ["LMSTUDIO_TEST_OOM_ROWS"]))
    from lmstudio_app.cli import main

    raise SystemExit(main())
