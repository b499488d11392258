"""The runs folder and its record: naming, listing newest first, dead runs, history, deleting safely."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.training import runs
from lmstudio_app.core.training.record import STATUS_FILE, RunRecord, SavedSettings

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_run(root, name, status, created, checkpoint=False):
    path = runs.new_run_dir(name, root)
    record = RunRecord(path)
    record.write_settings(SavedSettings(name=name, settings={"epochs": 3}))
    record.write_status(status, step=5, max_steps=10)
    data = json.loads((path / STATUS_FILE).read_text())
    data.update(created=created)
    (path / STATUS_FILE).write_text(json.dumps(data))
    if checkpoint:
        (path / "checkpoint-5").mkdir()
        (path / "checkpoint-5" / "trainer_state.json").write_text("{}")
    return path


def hold_lock(path):
    """A second process that owns the run folder until it is killed."""
    code = (
        "import sys, time; from lmstudio_app.core.training.record import RunRecord\n"
        "with RunRecord(sys.argv[1]).owned():\n    print('owned', flush=True); time.sleep(60)"
    )
    env = {**os.environ, "PYTHONPATH": REPO}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout.readline().strip() == "owned"
    return proc


def test_new_run_dir_is_unique_and_safe(tmp_path):
    a = runs.new_run_dir("my run / v1", tmp_path)
    b = runs.new_run_dir("my run / v1", tmp_path)
    assert a != b and a.is_dir() and b.is_dir()
    assert a.parent == tmp_path and "/" not in a.name[16:] and a.name.endswith("my-run-v1")


def test_runs_root_is_in_the_user_data_folder():
    assert runs.runs_root() == runs.runs_root()
    assert str(runs.runs_root()).startswith(os.environ["LMSTUDIO_HOME"])


def test_a_running_run_whose_process_died_is_interrupted_and_a_live_one_is_running(tmp_path):
    make_run(tmp_path, "old", "finished", "2026-01-01 10:00:00")
    dead = make_run(tmp_path, "crashed", "running", "2026-01-03 10:00:00", checkpoint=True)
    live = make_run(tmp_path, "live", "running", "2026-01-02 10:00:00")
    owner = hold_lock(live)
    try:
        (tmp_path / "not-a-run").mkdir()
        listed = runs.list_runs(tmp_path)
        assert [r.name for r in listed] == ["crashed", "live", "old"]
        crashed, running, old = listed
        assert (crashed.status, crashed.resumable, crashed.step, crashed.max_steps) == (
            "interrupted",
            True,
            5,
            10,
        )
        assert "stopped unexpectedly at step 5" in crashed.message
        assert running.status == "running" and not running.resumable
        assert old.settings == {"epochs": 3} and not old.has_checkpoint and old.kind == "finetune"
        assert RunRecord(dead).is_locked() is False and RunRecord(live).is_locked() is True
    finally:
        owner.kill()
        owner.wait()
    # kill -9 releases the lock: the same run is now seen as interrupted
    assert runs.run_info(live).status == "interrupted"
    assert runs.list_runs(tmp_path / "missing") == []


def test_a_second_owner_is_refused_with_a_line_naming_the_first(tmp_path):
    run = runs.new_run_dir("busy", tmp_path)
    owner = hold_lock(run)
    try:
        with (
            pytest.raises(
                UserError, match=rf"is in use by a run that is still training \(process {owner.pid}"
            ),
            RunRecord(run).owned(),
        ):
            pass
        with pytest.raises(UserError, match="still training"):
            RunRecord(run).check_start(resume=False)
    finally:
        owner.kill()
        owner.wait()
    with RunRecord(run).owned():  # taken over from the dead owner
        assert RunRecord(run).is_locked()


def test_history_skips_damaged_lines(tmp_path):
    run = runs.new_run_dir("h", tmp_path)
    (run / "history.jsonl").write_text(
        '{"type": "log", "step": 1, "loss": 0.5}\n{broken\n[1]\n{"type": "eval", "step": 1}\n'
    )
    assert [e["type"] for e in RunRecord(run).history()] == ["log", "eval"]
    assert RunRecord(tmp_path / "none").history() == []


def test_delete_run_refuses_non_runs_and_running_runs(tmp_path):
    stranger = tmp_path / "photos"
    stranger.mkdir()
    with pytest.raises(UserError, match="not a training run folder"):
        runs.delete_run(stranger)
    assert stranger.exists()
    live = make_run(tmp_path, "live", "running", time.strftime("%Y-%m-%d %H:%M:%S"))
    with RunRecord(live).owned(), pytest.raises(UserError, match="still training"):
        runs.delete_run(live)
    assert live.exists()
    done = make_run(tmp_path, "done", "finished", "2026-01-01 00:00:00")
    runs.delete_run(done)
    assert not done.exists()


def test_unknown_status_is_rejected(tmp_path):
    with pytest.raises(ValueError):
        RunRecord(tmp_path).write_status("paused")


def test_start_and_resume_messages_agree(tmp_path):
    """Each refusal points at a way that is then accepted."""
    fresh = tmp_path / "fresh"
    RunRecord(fresh).check_start(resume=False)
    with pytest.raises(UserError, match="without --resume"):
        RunRecord(fresh).check_start(resume=True)
    failed = make_run(tmp_path, "failed-early", "failed", "2026-01-01 00:00:00")  # no checkpoint saved
    RunRecord(failed).check_start(resume=False)  # can be started again
    with pytest.raises(
        UserError, match=r"stopped before saving one\): run the same command without --resume"
    ):
        RunRecord(failed).check_start(resume=True)
    cancelled = make_run(tmp_path, "cancelled", "cancelled", "2026-01-01 00:00:00", checkpoint=True)
    with pytest.raises(UserError, match="checkpoint at step 5: add --resume"):
        RunRecord(cancelled).check_start(resume=False)
    RunRecord(cancelled).check_start(resume=True)
    stranger = tmp_path / "stuff"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a run folder"):
        RunRecord(stranger).check_start(resume=False)
    finished = make_run(tmp_path, "done", "finished", "2026-01-01 00:00:00")
    with pytest.raises(UserError, match="finished run"):
        RunRecord(finished).check_start(resume=False)


def test_load_result_of_an_unfinished_run_is_a_user_error(tmp_path):
    from lmstudio_app.core.finetune.settings import FineTuneResult
    from lmstudio_app.core.pretrain.settings import PretrainResult

    run = make_run(tmp_path, "c", "cancelled", "2026-01-01 00:00:00")
    for kind in (FineTuneResult, PretrainResult):
        with pytest.raises(UserError, match="no results yet"):
            kind.load(run)
