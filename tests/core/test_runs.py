"""The runs folder: naming, listing newest first, crashed runs, history, deleting safely."""

from __future__ import annotations

import json
import os
import time

import pytest

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.training import runs


def make_run(root, name, status, created, pid=None, checkpoint=False):
    path = runs.new_run_dir(name, root)
    runs.write_json(path / runs.SETTINGS_FILE, {"name": name, "settings": {"epochs": 3}})
    runs.write_status(path, status, step=5, max_steps=10)
    data = runs.read_json(path / runs.STATUS_FILE)
    data.update(created=created, **({"pid": pid} if pid is not None else {}))
    (path / runs.STATUS_FILE).write_text(json.dumps(data))
    if checkpoint:
        (path / "checkpoint-5").mkdir()
        (path / "checkpoint-5" / "trainer_state.json").write_text("{}")
    return path


def test_new_run_dir_is_unique_and_safe(tmp_path):
    a = runs.new_run_dir("my run / v1", tmp_path)
    b = runs.new_run_dir("my run / v1", tmp_path)
    assert a != b and a.is_dir() and b.is_dir()
    assert a.parent == tmp_path and "/" not in a.name[16:] and a.name.endswith("my-run-v1")


def test_runs_root_is_in_the_user_data_folder():
    assert runs.runs_root() == runs.runs_root()
    assert str(runs.runs_root()).startswith(os.environ["LMSTUDIO_HOME"])


def test_list_runs_newest_first_and_crashed_runs_are_resumable(tmp_path):
    make_run(tmp_path, "old", "finished", "2026-01-01 10:00:00")
    dead_pid = 2**22 + 12345  # above the usual pid_max: no such process
    make_run(tmp_path, "crashed", "running", "2026-01-03 10:00:00", pid=dead_pid, checkpoint=True)
    make_run(tmp_path, "live", "running", "2026-01-02 10:00:00")  # this process: still running
    (tmp_path / "not-a-run").mkdir()
    listed = runs.list_runs(tmp_path)
    assert [r.name for r in listed] == ["crashed", "live", "old"]
    crashed, live, old = listed
    assert (crashed.status, crashed.resumable, crashed.step, crashed.max_steps) == ("cancelled", True, 5, 10)
    assert live.status == "running" and not live.resumable
    assert old.settings == {"epochs": 3} and not old.has_checkpoint
    assert runs.list_runs(tmp_path / "missing") == []


def test_history_skips_damaged_lines(tmp_path):
    run = runs.new_run_dir("h", tmp_path)
    (run / runs.HISTORY_FILE).write_text(
        '{"type": "log", "step": 1, "loss": 0.5}\n{broken\n[1]\n{"type": "eval", "step": 1}\n'
    )
    assert [e["type"] for e in runs.read_history(run)] == ["log", "eval"]
    assert runs.read_history(tmp_path / "none") == []


def test_delete_run_refuses_non_runs_and_running_runs(tmp_path):
    stranger = tmp_path / "photos"
    stranger.mkdir()
    with pytest.raises(UserError, match="not a fine-tuning run folder"):
        runs.delete_run(stranger)
    assert stranger.exists()
    live = make_run(tmp_path, "live", "running", time.strftime("%Y-%m-%d %H:%M:%S"))
    with pytest.raises(UserError, match="still training"):
        runs.delete_run(live)
    done = make_run(tmp_path, "done", "finished", "2026-01-01 00:00:00")
    runs.delete_run(done)
    assert not done.exists()


def test_unknown_status_is_rejected(tmp_path):
    with pytest.raises(ValueError):
        runs.write_status(tmp_path, "paused")


def test_load_result_of_an_unfinished_run_is_a_user_error(tmp_path):
    from lmstudio_app.core.finetune.job import load_result

    run = make_run(tmp_path, "c", "cancelled", "2026-01-01 00:00:00")
    with pytest.raises(UserError, match="no results yet"):
        load_result(run)
