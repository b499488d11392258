"""Resume is exact: after a cancel at any step, or a kill -9, the run ends bit-identical to one never stopped."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from lmstudio_app.core.data.labeled import prepare, split
from lmstudio_app.core.data.table import read_table
from lmstudio_app.core.finetune.job import fine_tune, resume_run
from lmstudio_app.core.finetune.settings import FineTuneSettings
from lmstudio_app.core.tasks import Cancelled, TaskState
from lmstudio_app.core.training import runs
from lmstudio_app.core.training.record import RunRecord

REPO = Path(__file__).resolve().parents[2]
WORDS = "good great bad awful film movie plot the a was very".split()


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_model):
    """90 training rows of mixed lengths: 12 steps per epoch at batch 8, two epochs."""
    tmp = tmp_path_factory.mktemp("exact")
    rng = random.Random(0)
    lines = ["text,label"] + [
        f"{' '.join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))},{rng.choice(['pos', 'neg'])}"
        for _ in range(120)
    ]
    csv = tmp / "d.csv"
    csv.write_text("\n".join(lines))
    train, val = split(prepare(read_table(csv), "text", "label"), 0.25, 0)
    settings = FineTuneSettings(
        base_model=str(tiny_model("encoder")),
        batch_size=8,
        learning_rate=5e-3,
        max_length=32,
        patience=0,
        epochs=2,
        eval_steps=5,
        seed=3,
        precision="fp32",
    )
    full = fine_tune(train, val, settings, tmp / "full")
    return tmp, train, val, settings, full


def weights(model_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(model_dir / "model.safetensors")


def assert_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert (a[name] == b[name]).all(), name


@pytest.mark.parametrize("stop_after", [6, 12])  # mid-epoch; first step of the second epoch
def test_cancel_then_resume_is_bit_identical(setup, stop_after):
    tmp, train, val, settings, full = setup
    state = TaskState()
    run_dir = tmp / f"cut{stop_after}"

    def cancel(event: dict) -> None:
        if event["type"] == "log" and event["step"] == stop_after:
            state.request_stop()

    with pytest.raises(Cancelled):
        fine_tune(train, val, settings, run_dir, state=state, on_event=cancel)
    assert RunRecord(run_dir).checkpoints()[-1].name == f"checkpoint-{stop_after + 1}"
    resumed = resume_run(run_dir)
    assert_identical(weights(full.model_dir), weights(resumed.model_dir))
    assert resumed.metrics["eval_loss"] == full.metrics["eval_loss"]
    assert resumed.metrics["train_loss"] == full.metrics["train_loss"]  # over the whole run, both parts


def test_kill_9_then_resume_from_the_last_checkpoint_is_bit_identical(setup):
    tmp, train, val, settings, full = setup
    run_dir = tmp / "killed"
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(REPO / "tests")!r})
from lmstudio_app.core.data.labeled import prepare, split
from lmstudio_app.core.data.table import read_table
from lmstudio_app.core.finetune.job import fine_tune
from lmstudio_app.core.finetune.settings import FineTuneSettings
train, val = split(prepare(read_table({str(tmp / "d.csv")!r}), "text", "label"), 0.25, 0)
settings = FineTuneSettings.from_dict({settings.to_dict()!r})
def die(event):
    if event["type"] == "log" and event["step"] == 13:  # checkpoint-10 is on disk, steps 11-13 are lost
        os.kill(os.getpid(), signal.SIGKILL)
fine_tune(train, val, settings, {str(run_dir)!r}, on_event=die)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300
    )
    assert done.returncode == -9
    info = runs.run_info(run_dir)
    assert (info.status, info.resumable) == ("interrupted", True)
    assert [p.name for p in RunRecord(run_dir).checkpoints()] == ["checkpoint-10"]
    resumed = resume_run(run_dir)
    assert_identical(weights(full.model_dir), weights(resumed.model_dir))
    assert runs.run_info(run_dir).status == "finished"
    logged = [e["step"] for e in RunRecord(run_dir).history() if e["type"] == "log"]
    assert logged == sorted(set(logged)) and logged[-1] == 24  # the lost steps were trained once, in order
