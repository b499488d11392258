"""`finetune --processes 2`: two torchrun ranks on the CPU (gloo) train the very model one process trains.

Each test starts real processes (the launcher, torchrun, two ranks) on a tiny BERT without dropout, so
that a run is a pure function of its data order: the same global batches must give the same model, the
same first loss (not twice it: transformers' average_tokens_across_devices), one history without
repeated steps, and a cancel, a resume on another number of processes or a killed rank must end as the
user expects. Marked `ranks`: deselect with -m "not ranks".
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from processes import cli_command, cli_env, run_cli
from ranks_helpers import exact_base, largest_difference, logged_losses, two_class_table, weights

from lmstudio_app import APP_NAME

pytestmark = pytest.mark.ranks
STEPS = 16  # two epochs of 8 steps (64 training rows, batch 8): the order is drawn again each epoch
TIMEOUT = 180  # seconds; no test waits longer on a process


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # One thread a process: on a busy 2-core machine two threads each wait on each other (3x slower).
    return cli_env(tmp_path_factory.mktemp("ranks_home"), OMP_NUM_THREADS="1")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("ranks_data")
    return exact_base(folder / "base"), two_class_table(folder / "table.csv")


def finetune_args(data: tuple[Path, Path], out: Path, *extra: object) -> list[object]:
    base, table = data
    return [
        "finetune", "-m", base, "--csv", table, "--text-column", "text", "--label-column", "label",
        "-o", out, "--batch-size", "8", "--max-steps", STEPS, "--lr", "1e-3", "--max-length", "32",
        "--patience", "0", "--precision", "fp32", "--device", "cpu", *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def one_process(data, env, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one") / "run"
    result = run_cli(*finetune_args(data, out), env=env, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def start(args: list[object], env: dict[str, str], folder: Path) -> subprocess.Popen:
    """The CLI in the background, its output in files (a pipe nobody reads would block it)."""
    return subprocess.Popen(
        cli_command(*args),
        env=env,
        stdout=open(folder / "stdout.txt", "w"),  # noqa: SIM115 (closed with the process)
        stderr=open(folder / "stderr.txt", "w"),  # noqa: SIM115
    )


def wait_for_first_step(run: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        history = run / "history.jsonl"
        if history.is_file() and '"log"' in history.read_text(encoding="utf-8"):
            return
        assert process.poll() is None, "the run ended before its first step"
        time.sleep(0.05)
    raise AssertionError("no training step logged in time")


@pytest.fixture
def cleanup():
    """Whatever a test leaves running (it failed half-way) is killed with everything it started."""
    started: list[subprocess.Popen] = []
    yield started.append
    for process in started:
        if process.poll() is None:
            family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
            for p in family:
                p.kill()
            process.wait(timeout=30)


def test_two_processes_train_the_model_one_process_trains(data, env, one_process, tmp_path):
    out = tmp_path / "run"
    result = run_cli(*finetune_args(data, out, "--processes", "2"), env=env, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Training on 2 processes on the CPU (gloo), 4 rows each per step" in result.stderr
    assert result.stdout.count("model saved to") == 1  # rank 0 speaks; rank 1 writes to its log
    one, two = logged_losses(one_process), logged_losses(out)
    assert sorted(two) == sorted(one) == list(range(1, STEPS + 1))
    assert two[1] == pytest.approx(one[1], rel=0.01)  # not twice it, as transformers would have it
    assert max(abs(two[s] - one[s]) for s in one) < 1e-4
    trained = largest_difference(weights(one_process), weights(data[0]))
    assert trained > 1e-3  # the comparison below is not between two untouched models
    assert weights(out).keys() == weights(one_process).keys()
    assert largest_difference(weights(out), weights(one_process)) < 1e-5
    assert json.loads((out / "status.json").read_text())["status"] == "finished"
    assert json.loads((out / "settings.json").read_text())["settings"]["processes"] == 2
    assert not list(out.glob("checkpoint-*")) and (out / "metrics.json").is_file()


def test_cancel_stops_both_and_a_single_process_resumes_to_the_same_model(
    data, env, one_process, tmp_path, cleanup
):
    out = tmp_path / "run"
    process = start(finetune_args(data, out, "--processes", "2"), env, tmp_path)
    cleanup(process)
    wait_for_first_step(out, process)
    # The ranks are held while the stop request is on its way: a quiet machine trains all 16 steps in
    # less time than a rank takes to see the stop file, and the run would finish instead.
    ranks = [p for p in psutil.Process(process.pid).children(recursive=True) if "LOCAL_RANK" in p.environ()]
    assert len(ranks) == 2
    for rank in ranks:
        rank.suspend()
    process.send_signal(signal.SIGINT)  # what the GUI sends to stop its child process
    stop_file = Path(ranks[0].environ()["LMSTUDIO_STOP_FILE"])
    deadline = time.monotonic() + 30
    while not stop_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stop_file.exists(), "the launcher did not pass the stop on to the ranks"
    for rank in ranks:
        rank.resume()
    assert process.wait(timeout=TIMEOUT) == 130
    said = (tmp_path / "stderr.txt").read_text()
    assert "continue with the same command plus --resume" in said
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "cancelled" and status["step"] < STEPS
    (checkpoint,) = out.glob("checkpoint-*")  # one checkpoint, with each rank's random state
    assert {p.name for p in checkpoint.glob("rng_state*")} == {"rng_state_0.pth", "rng_state_1.pth"}

    resumed = run_cli(*finetune_args(data, out, "--resume"), env=env, timeout=TIMEOUT)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from step {checkpoint.name.rpartition('-')[2]}" in resumed.stderr
    assert sorted(logged_losses(out)) == list(range(1, STEPS + 1))
    assert largest_difference(weights(out), weights(one_process)) < 1e-5


def test_a_killed_rank_fails_the_run_at_once(data, env, tmp_path, cleanup):
    out = tmp_path / "run"
    process = start(finetune_args(data, out, "--processes", "2", "--max-steps", "100000"), env, tmp_path)
    cleanup(process)
    wait_for_first_step(out, process)
    family = psutil.Process(process.pid).children(recursive=True)
    (rank1,) = [p for p in family if p.environ().get("RANK") == "1"]
    rank1.kill()
    killed = time.monotonic()
    assert process.wait(timeout=60) == 1
    assert time.monotonic() - killed < 20  # not a hang: torchrun stops rank 0 as soon as rank 1 is gone
    last = (tmp_path / "stderr.txt").read_text().strip().splitlines()[-1]
    assert last.startswith(f"{APP_NAME}: error: training process 1 of 2 was killed (SIGKILL) at step ")
    assert json.loads((out / "status.json").read_text())["status"] == "failed"
    gone, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, f"left running: {[p.pid for p in alive]}"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--processes", "0"), "--processes: 0 is out of range: use a whole number of at least 1"),
        (("--processes", "2", "--batch-size", "3"), "The batch size 3 does not divide over 2 processes"),
        (("--processes", "4", "--batch-size", "2"), "A batch of 2 rows cannot be split over 4 processes"),
        (("--processes", "2", "--device", "cuda"), "cuda is not available on this machine"),
    ],
)
def test_impossible_splits_are_one_line_and_exit_2(data, env, tmp_path, extra, message):
    result = run_cli(*finetune_args(data, tmp_path / "run", *extra), env=env, timeout=TIMEOUT)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{APP_NAME}: error: ") and message in last
    assert not (tmp_path / "run").exists()  # refused before anything started
