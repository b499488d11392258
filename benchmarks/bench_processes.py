"""Training samples/s with 1 and 2 processes (`finetune --processes N`) on this machine's CPU.

The same fixed-step fine-tune of the embedded MiniLM (fp32, batch 32 = the global batch, max length 64)
as one process with torch's threads over all cores, as one process with one thread, and as two torchrun
ranks (gloo) of one thread each (what the launcher gives each rank on 2 cores). The 1-thread single
process separates the cost of threads that wait on each other on a busy machine from the split itself.
Reports the Trainer's samples/s (the training loop only) and the whole command's wall time (start-up,
reading, the launch of the ranks). On a 2-core CPU little gain is expected: one process already uses
both cores, and two ranks add a gradient exchange per step; the figure is there to be honest about it.

    .venv/bin/python benchmarks/bench_processes.py [--steps 40] [--rows 800] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORDS = "good great fine happy lovely bad awful dull sad poor film story plot cast music the a of and it was".split()


def write_table(path: Path, rows: int) -> Path:
    rng = random.Random(0)
    lines = ["text,label"]
    for _ in range(rows):
        label = rng.choice(["pos", "neg"])
        lines.append(f"{label} {' '.join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))},{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(processes: int, threads: int | None, table: Path, folder: Path, steps: int) -> dict:
    out = folder / f"run{processes}-{threads}"
    command = [
        sys.executable,
        "-m",
        "lmstudio_app",
        "finetune",
        "-m",
        "all-MiniLM-L6-v2",
        "--csv",
        str(table),
    ]
    command += ["--text-column", "text", "--label-column", "label", "-o", str(out), "--device", "cpu"]
    command += ["--batch-size", "32", "--max-length", "64", "--max-steps", str(steps), "--patience", "0"]
    command += ["--precision", "fp32", "--processes", str(processes)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("OMP_NUM_THREADS", None)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{processes} process(es) failed:\n{done.stderr[-3000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    return {
        "processes": processes,
        "threads": threads or os.cpu_count(),
        "samples_per_s": metrics["train_samples_per_second"],
        "train_s": metrics["train_runtime_s"],
        "wall_s": wall,
        "eval_accuracy": metrics["eval_accuracy"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rows", type=int, default=800)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        table = write_table(folder / "table.csv", args.rows)
        results = [run(n, threads, table, folder, args.steps) for n, threads in ((1, None), (1, 1), (2, 1))]
    print(f"CPU cores: {os.cpu_count()}, load average before: {load:.1f}, after: {os.getloadavg()[0]:.1f}")
    for r in results:
        print(
            f"{r['processes']} process(es) x {r['threads']} thread(s): {r['samples_per_s']:.1f} samples/s in "
            f"training ({r['train_s']:.1f} s for {args.steps} steps of 32), {r['wall_s']:.1f} s whole command, "
            f"accuracy {r['eval_accuracy']:.3f}"
        )
    one, single, two = (r["samples_per_s"] for r in results)
    print(f"2 processes / 1 process: {two / one:.2f}x (/ 1 process of 1 thread: {two / single:.2f}x)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
