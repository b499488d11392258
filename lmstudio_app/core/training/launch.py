"""Training on several processes: the checks, the torchrun command, and following the ranks to their end.

The CLI runs itself again under torch.distributed.run (torchrun) with the same arguments: one process per
GPU (NCCL) or N processes on the CPU (gloo), meeting on a free local port (--standalone). The ranks find
their place in the environment (core/training/ranks.py); the engine splits the global batch between them.

The launcher's side, here: it refuses what cannot work before anything starts, shows rank 0's output as its
own (the other ranks write to log files, read back when one fails), turns a cancel into a stop file that
every rank watches (the ranks then agree on the step to stop at), and after the end reads the run's status
to say how it went. torchrun itself runs through `main` below, which keeps torchrun's logging quiet and
hands its record of failed ranks over in a file, so that a dead rank becomes one clear line, not a page
of tracebacks.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.tasks import TaskState
from lmstudio_app.core.training.ranks import STOP_FILE_ENV, STOP_POLL_S, per_process_batch
from lmstudio_app.core.training.record import RunRecord

FAILURES_ENV = "LMSTUDIO_RANK_FAILURES"
ABORT_GRACE_S = 60.0  # after a second Ctrl+C: how long torchrun may take to end its ranks
CANCELLED, FAILED, USER_ERROR = 130, 1, 2  # exit statuses, as the CLI gives them


@dataclass
class RankPlan:
    """How a run is spread: `processes` ranks on `device` ("cpu" or "cuda"), `per_process` rows each a step."""

    processes: int
    device: str
    per_process: int

    def describe(self) -> str:
        where = "the CPU (gloo)" if self.device == "cpu" else f"{self.processes} GPUs (NCCL)"
        return f"Training on {self.processes} processes on {where}, {self.per_process} rows each per step"


@dataclass
class RanksEnd:
    """How the ranks ended: "finished", "cancelled" or "failed", the exit status, and what the launcher must
    still say ("" when rank 0 said it already)."""

    status: str
    exit_code: int
    message: str = ""


def plan_ranks(processes: int, batch_size: int, device: str) -> RankPlan:
    """Refuse, in one line, what several processes cannot do here; torch is imported to count the GPUs."""
    import torch

    from lmstudio_app.core.models.precision import resolve_device

    per_process = per_process_batch(batch_size, processes)
    resolved = resolve_device(device)
    if resolved == "mps":
        raise UserError(
            "Apple MPS trains in one process: use --processes 1 (several processes need GPUs or the CPU)."
        )
    if resolved == "cuda" and processes > torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise UserError(
            f"{processes} processes need {processes} GPUs (one each) but this machine has {count}: use "
            f"--processes {count}, or --device cpu."
        )
    return RankPlan(processes, resolved, per_process)


def torchrun_args(plan: RankPlan, command: list[str], log_dir: Path) -> list[str]:
    """torchrun's arguments for `lmstudio-app COMMAND` on this machine; ranks other than 0 write to `log_dir`."""
    args = ["--standalone", "--nnodes", "1", "--nproc-per-node", str(plan.processes), "--max-restarts", "0"]
    args += ["--log-dir", str(log_dir)]
    if plan.processes > 1:
        args += ["--redirects", ",".join(f"{rank}:3" for rank in range(1, plan.processes))]
    return [*args, "-m", "lmstudio_app", *command]


def run_ranks(plan: RankPlan, command: list[str], run_dir: Path, state: TaskState) -> RanksEnd:
    """Run `lmstudio-app COMMAND` as `plan.processes` ranks and wait for them; `state.request_stop()` (the
    first Ctrl+C) makes them stop together with a checkpoint, an exception while waiting (the second Ctrl+C)
    ends them at once and is raised again."""
    with tempfile.TemporaryDirectory(prefix="lmstudio-ranks-") as tmp:
        folder = Path(tmp)
        env = _ranks_env(plan, folder)
        process = subprocess.Popen(
            [sys.executable, "-m", __name__, *torchrun_args(plan, command, folder / "logs")],
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # the terminal's Ctrl+C reaches this launcher only; it tells the ranks
        )
        try:
            with _ended_by_termination():
                _follow(process, state, Path(env[STOP_FILE_ENV]))
        except BaseException:
            _abort(process)
            raise
        return _ending(process.returncode, plan, RunRecord(run_dir), folder, state.should_stop())


def _ranks_env(plan: RankPlan, folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env[STOP_FILE_ENV] = str(folder / "stop")
    env[FAILURES_ENV] = str(folder / "failures.json")
    # torchrun would set 1 thread per process with a warning; on the CPU the cores are shared out instead.
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // plan.processes)))
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")  # not DDP's note on each run about unused parameters
    return env


@contextlib.contextmanager
def _ended_by_termination() -> Iterator[None]:
    """SIGTERM or SIGHUP to the launcher (a window closing its child, a closed terminal) ends the ranks too:
    they run in their own session and would otherwise train on, holding the run folder."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _follow(process: subprocess.Popen, state: TaskState, stop_file: Path) -> None:
    while process.poll() is None:
        if state.should_stop() and not stop_file.exists():
            stop_file.touch()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_POLL_S)


def _abort(process: subprocess.Popen) -> None:
    """SIGTERM to torchrun, which ends its ranks; SIGKILL if it does not end in time."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=ABORT_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _ending(code: int, plan: RankPlan, record: RunRecord, folder: Path, asked_to_stop: bool) -> RanksEnd:
    """Read how the run ended from its status (rank 0 wrote it) and torchrun's record of failed ranks; when
    rank 0 was stopped before it could write the end, the launcher writes it (every rank has ended)."""
    status = record.status()
    state, step = status.get("status"), _last_step(record, status)
    if code == 0 and state == "finished":
        return RanksEnd("finished", 0)
    if state == "cancelled" or asked_to_stop:
        if state == "cancelled":
            return RanksEnd("cancelled", CANCELLED)
        message = f"cancelled at step {step}" + _resume_hint(record)
        _record_end(record, "cancelled", message)
        return RanksEnd("cancelled", CANCELLED, message)
    failures = read_failures(folder / "failures.json")
    if failures and failures[0]["rank"] == 0 and failures[0]["exitcode"] == USER_ERROR:
        return RanksEnd("failed", USER_ERROR)  # rank 0 said what is wrong, in one line, on this console
    message = failure_message(failures, plan.processes, step, _last_words(failures, folder)) + _resume_hint(
        record
    )
    _record_end(record, "failed", message)
    exit_code = USER_ERROR if failures and failures[0]["exitcode"] == USER_ERROR else FAILED
    return RanksEnd("failed", exit_code, message)


def failure_message(failures: list[dict], processes: int, step: int, last_words: str) -> str:
    """One line: which rank ended how (the first that failed), and where the run stopped."""
    if not failures:
        return f"the {processes} training processes ended unexpectedly at step {step}"
    first = failures[0]
    if first["exitcode"] < 0:
        how = f"was killed ({first['signal'] or 'signal ' + str(-first['exitcode'])})"
    else:
        how = f"failed (exit status {first['exitcode']})"
    said = f": {last_words}" if last_words else ""
    return f"training process {first['rank']} of {processes} {how} at step {step}, so the others were stopped{said}"


def _last_step(record: RunRecord, status: dict) -> int:
    """The last step the run logged (status.json is updated only at checkpoints and evaluations)."""
    logged = [int(e.get("step", 0)) for e in record.history() if e.get("type") == "log"]
    return max([int(status.get("step", 0) or 0), *logged])


def _last_words(failures: list[dict], folder: Path) -> str:
    """The last line a failed rank other than 0 wrote to its log (rank 0 wrote on the console); none from a
    rank that was killed."""
    if not failures or failures[0]["rank"] == 0 or failures[0]["exitcode"] < 0:
        return ""
    for log in sorted(folder.glob(f"logs/*/attempt_*/{failures[0]['rank']}/stderr.log")):
        lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines()]
        lines = [line for line in lines if line and not line.startswith("[")]  # not progress lines
        if lines:
            return lines[-1].removeprefix("lmstudio-app: error: ")
    return ""


def _resume_hint(record: RunRecord) -> str:
    found = record.checkpoints()
    if not found:
        return ""
    step = found[-1].name.rpartition("-")[2]
    return f"; the checkpoint of step {step} is kept: continue with the same command plus --resume"


def _record_end(record: RunRecord, status: str, message: str) -> None:
    if record.status().get("status") == "running" and not record.is_locked():
        record.write_status(status, message=message)


def read_failures(path: Path) -> list[dict]:
    """The failed ranks, the first to fail first: {"rank", "exitcode", "signal"} each."""
    try:
        failures = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return failures if isinstance(failures, list) else []


def _write_failures(exc: BaseException, path: str) -> None:
    first, _ = exc.get_first_failure()  # type: ignore[attr-defined]  (ChildFailedError)
    failures = [
        {"rank": int(rank), "exitcode": int(f.exitcode), "signal": f.signal_name() if f.exitcode < 0 else ""}
        for rank, f in sorted(exc.failures.items(), key=lambda item: item[0] != first)  # type: ignore[attr-defined]
    ]
    Path(path).write_text(json.dumps(failures), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """torchrun with its own logging silenced (a failure is reported by the launcher, in one line)."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    for name in ["torch.distributed", *logging.root.manager.loggerDict]:
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        torchrun(sys.argv[1:] if argv is None else argv)
    except ChildFailedError as exc:
        if os.environ.get(FAILURES_ENV):
            _write_failures(exc, os.environ[FAILURES_ENV])
        return FAILED
    except SignalException as exc:
        return 128 + int(exc.sigval)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
