"""`--events FILE` and `--settings FILE` of the training commands: the interface the GUI follows a training
process through (a real tiny BERT, real runs; the cancel and resume as separate processes)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from processes import REPO, cli_command, cli_env, run_cli

from lmstudio_app.cli import main
from lmstudio_app.core.training.events import EventFollower
from lmstudio_app.core.training.record import RunRecord


def reviews(path: Path, rows: int = 40) -> Path:
    rng = random.Random(3)
    lines = ["text,label"]
    for i in range(rows):
        words = (
            ("great movie", "i love it", "good book") if i % 2 else ("bad film", "i hate it", "awful play")
        )
        lines.append(f"{rng.choice(words)} {i},{'positive' if i % 2 else 'negative'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def events_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def finetune_args(model: Path, data: Path, out: Path, *extra: object) -> list[str]:
    return [
        "finetune", "-m", str(model), "--csv", str(data), "--text-column", "text", "--label-column", "label",
        "-o", str(out), "--batch-size", "8", "--device", "cpu", "--precision", "fp32", "--patience", "0",
        *map(str, extra),
    ]  # fmt: skip


def test_the_events_say_what_on_event_receives_then_how_the_run_ended(tmp_path, tiny_model, capsys):
    out, events = tmp_path / "run", tmp_path / "events.jsonl"
    code = main(
        finetune_args(
            tiny_model("encoder"), reviews(tmp_path / "r.csv"), out, "--max-steps", 6, "--events", events
        )
    )
    assert code == 0, capsys.readouterr().err
    said = events_of(events)
    assert said[0]["type"] == "start" and said[0]["pid"] == os.getpid()
    assert said[-1] == {
        "type": "end",
        "state": "finished",
        "message": "finished",
        "result": str(out.resolve()),
    }
    history = RunRecord(out).history()  # the engine's own record of the same run
    assert [e for e in said if e["type"] in ("log", "eval")] == history
    assert [e["step"] for e in said if e["type"] == "log"] == [1, 2, 3, 4, 5, 6]
    messages = [e["message"] for e in said if e["type"] == "status"]
    assert any(m.startswith("Training 32 rows on cpu") for m in messages)
    progress = [e for e in said if e["type"] == "progress"]
    assert progress[0]["message"].startswith("Reading") and any(p["message"] == "Preparing" for p in progress)
    assert all(-1 <= p["fraction"] <= 1 for p in progress)


def test_ctrl_c_ends_with_a_cancel_line_and_a_resume_from_the_run_folder_alone_finishes(tmp_path, tiny_model):
    env = cli_env(tmp_path / "home", OMP_NUM_THREADS="1")
    out, events = tmp_path / "run", tmp_path / "events.jsonl"
    args = finetune_args(tiny_model("encoder"), reviews(tmp_path / "r.csv"), out, "--max-steps", 400)
    process = subprocess.Popen(
        cli_command(*args, "--events", events), env=env, cwd=REPO, stderr=subprocess.PIPE
    )
    follower, steps = EventFollower(events), []
    deadline = time.monotonic() + 180
    while not steps or steps[-1] < 3:
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        steps += [e["step"] for e in follower.read() if e["type"] == "log"]
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # what the GUI's Cancel sends
    assert process.wait(timeout=120) == 130
    end = events_of(events)[-1]
    saved = int(RunRecord(out).checkpoints()[-1].name.rpartition("-")[2])
    assert (
        end["type"] == "end"
        and end["state"] == "cancelled"
        and end["message"].startswith(f"cancelled at step {saved};")
    )
    assert 3 <= saved < 400

    # --resume -o RUN alone: the data and settings come from the run's settings.json.
    size = events.stat().st_size
    done = run_cli("finetune", "--resume", "-o", out, "--events", events, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    resumed = EventFollower(events, size).read()
    assert resumed[0]["type"] == "start" and resumed[-1]["state"] == "finished"
    steps = [e["step"] for e in resumed if e["type"] == "log"]
    assert steps[0] == saved + 1 and steps[-1] == 400
    assert "accuracy" in done.stdout and RunRecord(out).effective_status()[0] == "finished"


def test_a_runs_settings_file_starts_the_same_run_in_another_folder(tmp_path, tiny_model, capsys):
    first = tmp_path / "first"
    assert (
        main(finetune_args(tiny_model("encoder"), reviews(tmp_path / "r.csv"), first, "--max-steps", 2)) == 0
    )
    again = tmp_path / "again"
    code = main(["finetune", "--settings", str(first / "settings.json"), "-o", str(again)])
    assert code == 0, capsys.readouterr().err
    before, after = RunRecord(first).saved_settings(), RunRecord(again).saved_settings()
    assert after.settings == before.settings and after.job["data_plan"] == before.job["data_plan"]
    assert len(RunRecord(again).history()) == len(RunRecord(first).history())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["finetune", "--settings", "{kind_pretrain}", "-o", "{out}"],
            "'pretrain' job: `lmstudio-app pretrain`",
        ),
        (
            ["finetune", "--settings", "{kind_pretrain}", "--csv", "x.csv", "-o", "{out}"],
            "leave out the data",
        ),
        (["finetune", "--settings", "{not_settings}", "-o", "{out}"], "is not a run's settings file"),
        (["finetune", "--resume", "-o", "{out}"], "does not exist: run without --resume"),
        (["pretrain", "-o", "{out}"], "Give the text"),
        (
            ["pretrain", "--settings", "{kind_pretrain}", "-o", "{out}", "--events", "{tmp}/no/e.jsonl"],
            "does not exist",
        ),
    ],
    ids=["other-kind", "settings-and-data", "not-settings", "resume-nothing", "no-text", "events-folder"],
)
def test_refusals_are_one_line_and_the_events_say_them_too(tmp_path, capsys, argv, message):
    kind_pretrain = tmp_path / "pretrain.json"
    kind_pretrain.write_text(json.dumps({"kind": "pretrain", "settings": {}, "text": {}}), encoding="utf-8")
    not_settings = tmp_path / "list.json"
    not_settings.write_text("[1, 2]", encoding="utf-8")
    names = {
        "kind_pretrain": kind_pretrain,
        "not_settings": not_settings,
        "out": tmp_path / "out",
        "tmp": tmp_path,
    }
    argv = [a.format(**names) for a in argv]
    events = tmp_path / "events.jsonl"
    code = main([*argv, "--events", str(events)] if "--events" not in argv else argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("lmstudio-app: error: ") and message in err and err.count("\n") == 1
    if "--events" not in argv:
        end = events_of(events)[-1]
        assert end["state"] == "failed" and end["message"] == err.strip().removeprefix(
            "lmstudio-app: error: "
        )
