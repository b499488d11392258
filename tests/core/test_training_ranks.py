"""Several processes, in one: the global batch and its split, the loss scaling the Trainer gets wrong,
the launcher's checks and how it words a failed rank. The runs on real ranks are tests/cli/test_ranks.py."""

from __future__ import annotations

import json

import pytest
from ranks_helpers import exact_base, largest_difference, logged_losses, two_class_table, weights

from lmstudio_app.core.data.labeled import prepare, split
from lmstudio_app.core.data.table import read_table
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.finetune.job import fine_tune
from lmstudio_app.core.finetune.settings import FineTuneSettings
from lmstudio_app.core.training import launch
from lmstudio_app.core.training.launch import RankPlan, failure_message, plan_ranks, torchrun_args
from lmstudio_app.core.training.ranks import per_process_batch
from lmstudio_app.core.training.record import RunRecord


def test_gradient_accumulation_gives_the_gradient_of_the_whole_batch(tmp_path):
    """Batch 8 in one go, or 4 + 4 accumulated: the same loss and the same model. transformers skips dividing
    the loss over accumulation for models whose forward takes **kwargs (BERT's), which doubled it."""
    base = exact_base(tmp_path / "base")
    data = prepare(read_table(two_class_table(tmp_path / "t.csv", 40)), "text", "label")
    train, val = split(data, 0.2, seed=0)
    common = dict(base_model=str(base), learning_rate=1e-3, max_length=32, patience=0, max_steps=3)
    runs = {}
    for batch, accumulation in ((8, 1), (4, 2)):
        settings = FineTuneSettings(**common, batch_size=batch, grad_accum=accumulation, precision="fp32")
        runs[accumulation] = tmp_path / f"accumulate{accumulation}"
        fine_tune(train, val, settings, runs[accumulation], model_dir=runs[accumulation] / "model")
    whole, halves = logged_losses(runs[1]), logged_losses(runs[2])
    assert halves[1] == pytest.approx(whole[1], rel=1e-5)  # was twice it
    assert largest_difference(weights(runs[2] / "model"), weights(runs[1] / "model")) < 1e-5


@pytest.mark.parametrize(
    ("batch", "processes", "message"),
    [
        (8, 0, "The number of processes must be at least 1, not 0."),
        (3, 4, "A batch of 3 rows cannot be split over 4 processes: use a batch size of at least 4"),
        (10, 4, "The batch size 10 does not divide over 4 processes (it is the global batch, split evenly): "
         "use a multiple of 4, e.g. 8."),
    ],
)  # fmt: skip
def test_the_global_batch_must_split_evenly(batch, processes, message):
    with pytest.raises(UserError) as refused:
        per_process_batch(batch, processes)
    assert message in str(refused.value)
    with pytest.raises(UserError) as in_settings:  # the settings say the same (the wizards check them)
        FineTuneSettings(batch_size=batch, processes=processes).check()
    assert message in str(in_settings.value)
    assert per_process_batch(12, 4) == 3


def test_more_processes_than_gpus_is_refused(monkeypatch):
    import torch

    from lmstudio_app.core.models import precision

    monkeypatch.setattr(precision, "resolve_device", lambda device: "cuda")  # a machine with one GPU
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(UserError) as refused:
        plan_ranks(2, 16, "auto")
    assert str(refused.value) == (
        "2 processes need 2 GPUs (one each) but this machine has 1: use --processes 1, or --device cpu."
    )
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert plan_ranks(2, 16, "cuda") == RankPlan(2, "cuda", 8)
    assert (
        plan_ranks(2, 16, "cuda").describe()
        == "Training on 2 processes on 2 GPUs (NCCL), 8 rows each per step"
    )


def test_torchrun_runs_the_same_command_with_a_free_port_and_rank_0_on_the_console(tmp_path):
    args = torchrun_args(RankPlan(3, "cpu", 4), ["finetune", "--csv", "a b.csv"], tmp_path)
    assert args[:2] == ["--standalone", "--nnodes"]  # standalone: the rendezvous takes a free local port
    assert args[args.index("--redirects") + 1] == "1:3,2:3"  # ranks 1 and 2 to log files, rank 0 not
    assert args[args.index("--max-restarts") + 1] == "0"
    assert args[-5:] == ["-m", "lmstudio_app", "finetune", "--csv", "a b.csv"]


def test_a_failed_rank_is_one_line_and_the_run_says_failed(tmp_path):
    run = tmp_path / "run"
    record = RunRecord(run)
    run.mkdir()
    record.write_status("running", step=4, max_steps=10)
    (run / "history.jsonl").write_text(
        "".join(json.dumps({"type": "log", "step": s}) + "\n" for s in (1, 2, 7))
    )
    (run / "checkpoint-4").mkdir()
    (run / "checkpoint-4" / "trainer_state.json").write_text("{}")
    folder = tmp_path / "launch"
    log = folder / "logs" / "abc" / "attempt_0" / "1" / "stderr.log"
    log.parent.mkdir(parents=True)
    log.write_text("[ 10%] Step 7/10\nTraceback (most recent call last):\nRuntimeError: disk on fire\n")
    failures = [{"rank": 1, "exitcode": 1, "signal": ""}, {"rank": 0, "exitcode": -15, "signal": "SIGTERM"}]
    (folder / "failures.json").write_text(json.dumps(failures))
    end = launch._ending(1, RankPlan(2, "cpu", 4), record, folder, asked_to_stop=False)
    assert (end.status, end.exit_code) == ("failed", 1)
    assert end.message == (
        "training process 1 of 2 failed (exit status 1) at step 7, so the others were stopped: RuntimeError: "
        "disk on fire; the checkpoint of step 4 is kept: continue with the same command plus --resume"
    )
    assert record.status()["status"] == "failed" and record.status()["message"] == end.message
    killed = failure_message([{"rank": 0, "exitcode": -9, "signal": "SIGKILL"}], 4, 3, "")
    assert killed == "training process 0 of 4 was killed (SIGKILL) at step 3, so the others were stopped"


def test_a_cancel_that_rank_0_could_not_record_is_recorded_by_the_launcher(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    RunRecord(run).write_status("running", step=2)
    end = launch._ending(1, RankPlan(2, "cpu", 4), RunRecord(run), tmp_path, asked_to_stop=True)
    assert (end.status, end.exit_code, end.message) == ("cancelled", 130, "cancelled at step 2")
    assert RunRecord(run).status()["status"] == "cancelled"
