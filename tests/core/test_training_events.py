"""The events file of a training run (core/training/events.py): written one flushed JSON line at a time by the
process that trains (rank 0 only), followed by another process that may read a line half written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.jsonio import OutputError
from lmstudio_app.core.training import events as ev
from lmstudio_app.core.training.ranks import STOP_FILE_ENV
from lmstudio_app.core.training.record import LAUNCH_FILES, RunRecord


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_each_event_is_one_line_on_disk_as_soon_as_it_is_written(tmp_path):
    path = tmp_path / "events.jsonl"
    writer = ev.EventWriter(path)
    writer.start()
    seen = []
    on_event = writer.tee(seen.append)
    on_event({"type": "log", "step": 1, "loss": 0.5})
    # Not closed yet: a follower in another process must already see both lines.
    assert [e["type"] for e in lines(path)] == ["start", "log"]
    assert lines(path)[0]["pid"] == os.getpid() and seen == [{"type": "log", "step": 1, "loss": 0.5}]
    writer.end("finished", "finished", tmp_path)
    writer.end("failed", "a second end is not written", tmp_path)
    writer.close()
    assert lines(path)[-1] == {
        "type": "end",
        "state": "finished",
        "message": "finished",
        "result": str(tmp_path),
    }
    assert len(lines(path)) == 3
    with pytest.raises(ValueError):
        ev.EventWriter(tmp_path / "other.jsonl").end("done", "")


def test_the_follower_keeps_a_torn_last_line_until_it_is_whole_and_skips_garbage(tmp_path):
    path = tmp_path / "events.jsonl"
    follower = ev.EventFollower(path)
    assert follower.read() == []  # the file is not there yet
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"type": "log", "step": 1}\nnot json\n[1, 2]\n{"type": "eval", "st')
    assert follower.read() == [{"type": "log", "step": 1}]
    assert follower.read() == []
    with open(path, "a", encoding="utf-8") as f:
        f.write('ep": 2}\n{"type": "log", "step": 3}\n')
    assert follower.read() == [{"type": "eval", "step": 2}, {"type": "log", "step": 3}]
    assert follower.offset == path.stat().st_size
    assert ev.EventFollower(path, offset=follower.offset).read() == []


def test_progress_lines_are_thinned_but_a_new_message_and_the_end_of_a_stage_always_come(
    tmp_path, monkeypatch
):
    clock = [100.0]
    monkeypatch.setattr(ev.time, "monotonic", lambda: clock[0])
    path = tmp_path / "events.jsonl"
    with ev.EventWriter(path) as writer:
        writer.progress(0.1, "Step 1/10, 3 samples/s")
        writer.progress(0.2, "Step 2/10, 3 samples/s")  # the same kind, 0 s later: left out
        clock[0] += ev.PROGRESS_EVERY_S
        writer.progress(0.3, "Step 3/10, 3 samples/s")
        writer.progress(0.3, "Evaluating")  # a new kind of message: at once
        writer.progress(1.0, "Evaluating")  # the end of a stage: always
    assert [(e["fraction"], e["message"][:6]) for e in lines(path)] == [
        (0.1, "Step 1"),
        (0.3, "Step 3"),
        (0.3, "Evalua"),
        (1.0, "Evalua"),
    ]


def test_only_rank_0_writes_and_the_ranks_of_our_launcher_leave_start_and_end_to_it(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    other = ev.EventWriter(tmp_path / "rank1.jsonl")
    other.start()
    other.write({"type": "log", "step": 1})
    other.end("finished", "")
    assert not (tmp_path / "rank1.jsonl").exists()
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv(STOP_FILE_ENV, str(tmp_path / "stop"))
    with ev.EventWriter(tmp_path / "rank0.jsonl") as rank0:
        rank0.start()
        rank0.write({"type": "log", "step": 1})
        rank0.end("finished", "")
    assert lines(tmp_path / "rank0.jsonl") == [{"type": "log", "step": 1}]


def test_an_events_file_that_cannot_be_written_is_one_clear_error(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        ev.EventWriter(tmp_path / "no" / "such" / "events.jsonl")
    with pytest.raises(OutputError, match="it is a folder"):
        ev.EventWriter(tmp_path)


def test_the_latest_invocation_says_whether_it_has_ended_and_where_to_follow_on(tmp_path):
    path = tmp_path / "events.jsonl"
    assert ev.latest_invocation(path) is None
    for pid, ended in ((11, True), (22, False)):
        with ev.EventWriter(path) as writer:
            writer.write({"type": "start", "pid": pid})
            writer.write({"type": "log", "step": pid})
            if ended:
                writer.end("cancelled", "cancelled at step 3")
    latest = ev.latest_invocation(path)
    assert (latest.pid, latest.end, latest.offset) == (22, None, path.stat().st_size)
    with ev.EventWriter(path) as writer:
        writer.end("finished", "finished")
    assert ev.latest_invocation(path).end["state"] == "finished"


def test_a_process_is_alive_until_it_has_ended():
    assert ev.process_alive(os.getpid())
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    assert not ev.process_alive(int(done.stdout))
    assert not ev.process_alive(0)


def test_a_launchers_files_leave_a_new_run_folder_new(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name in LAUNCH_FILES:
        (run / name).write_text("{}", encoding="utf-8")
    RunRecord(run).check_start(resume=False)  # no refusal: nothing of a run is there yet
    (run / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UserError, match="not empty and is not a run folder"):
        RunRecord(run).check_start(resume=False)
