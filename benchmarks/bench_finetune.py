"""Fine-tuning speed and memory: our engine against a plain `Trainer` script, peak RSS, GUI stalls.

1. Same model (embedded MiniLM), data, hyperparameters and seed through `core.finetune.job.fine_tune`
   (dynamic padding + length grouping) and through the textbook script (pad every text to
   max_length, default sampler). Prints samples/s of both, the ratio (goal >= 1.0) and both final
   accuracies (goal: within 1 point).
2. Peak RSS of a MiniLM run on 10k rows (all rows read and tokenized, a few training steps; goal < 2 GB),
   measured in a fresh process.
3. Precision `auto` against fp32 in our engine (auto = bf16 autocast where the CPU has native bf16).
4. The longest event-loop stall of a Qt application while the run trains in a Worker and its events
   are relayed to the GUI thread as signals (goal < 50 ms).

    .venv/bin/python benchmarks/bench_finetune.py [--rows 800] [--epochs 1] [--skip-rss] [--skip-gui]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GOOD = "wonderful great brilliant moving lovely superb charming delightful gripping".split()
BAD = "boring awful dull terrible tedious clumsy lifeless bland painful".split()
NOUNS = "film story acting plot music ending cast script pacing camera work".split()
FILLER = (
    "I think that the {n} was {a}. Honestly the {n} felt {a} from start to finish, and my friends agreed. "
    "We watched it last weekend with the whole family after dinner and talked about the {n} for a long time."
)


def write_reviews(path: Path, rows: int, seed: int = 0) -> Path:
    """A sentiment CSV with texts of very different lengths (as real reviews are)."""
    import csv

    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for _ in range(rows):
            positive = rng.random() < 0.5
            words = GOOD if positive else BAD
            parts = [f"The {rng.choice(NOUNS)} was {rng.choice(words)}."]
            for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 4])):
                parts.append(FILLER.format(n=rng.choice(NOUNS), a=rng.choice(words)))
            writer.writerow([" ".join(parts), "positive" if positive else "negative"])
    return path


def engine_run(csv_path: Path, out: Path, args: argparse.Namespace, precision: str = "fp32") -> dict:
    from lmstudio_app.core.data.labeled import prepare, split
    from lmstudio_app.core.data.table import read_table
    from lmstudio_app.core.finetune.job import fine_tune
    from lmstudio_app.core.finetune.settings import FineTuneSettings

    train, val = split(prepare(read_table(csv_path), "text", "label"), 0.2, args.seed)
    settings = FineTuneSettings(
        epochs=args.epochs,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        seed=args.seed,
        patience=0,
        device="cpu",
        precision=precision,
        warmup_ratio=0.1,
        weight_decay=0.01,
        eval_steps=math.ceil(len(train) / args.batch_size),  # once per epoch, as the plain script
    )
    result = fine_tune(train, val, settings, out)
    m = result.metrics
    return {
        "samples_per_s": len(train) * args.epochs / m["train_runtime_s"],
        "accuracy": m["eval_accuracy"],
        "macro_f1": m["eval_macro_f1"],
        "precision": m["precision"],
    }


def plain_trainer_run(csv_path: Path, out: Path, args: argparse.Namespace) -> dict:
    """The textbook script: pad to max_length, default sampler, evaluate every epoch."""
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    from lmstudio_app.core.data.labeled import prepare, split
    from lmstudio_app.core.data.table import read_table
    from lmstudio_app.core.models.sources import resolve

    train, val = split(prepare(read_table(csv_path), "text", "label"), 0.2, args.seed)
    labels = sorted(set(train.labels))
    path = resolve("all-MiniLM-L6-v2").path
    tokenizer = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(args.seed)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=len(labels))

    class DS(torch.utils.data.Dataset):
        def __init__(self, data):
            self.enc = tokenizer(
                data.texts, padding="max_length", truncation=True, max_length=args.max_length
            )
            self.labels = [labels.index(x) for x in data.labels]

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, i):
            item = {k: torch.tensor(v[i]) for k, v in self.enc.items()}
            item["labels"] = torch.tensor(self.labels[i])
            return item

    def accuracy(p):
        return {"accuracy": float((np.argmax(p.predictions, -1) == p.label_ids).mean())}

    targs = TrainingArguments(
        output_dir=str(out),
        num_train_epochs=args.epochs,
        learning_rate=args.lr,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size,
        warmup_steps=0.1,
        weight_decay=0.01,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=1,
        seed=args.seed,
        use_cpu=True,
        report_to="none",
        disable_tqdm=True,
        log_level="error",
        dataloader_pin_memory=False,
    )
    trainer = Trainer(
        model=model, args=targs, train_dataset=DS(train), eval_dataset=DS(val), compute_metrics=accuracy
    )
    output = trainer.train()
    metrics = trainer.evaluate()
    return {
        "samples_per_s": len(train) * args.epochs / output.metrics["train_runtime"],
        "accuracy": metrics["eval_accuracy"],
    }


def rss_child(rows: int) -> None:
    """Run in a fresh process: read + tokenize `rows` rows, train a few MiniLM steps, print peak RSS."""
    import resource

    from lmstudio_app.core.data.labeled import prepare, split
    from lmstudio_app.core.data.table import read_table
    from lmstudio_app.core.finetune.job import fine_tune
    from lmstudio_app.core.finetune.settings import FineTuneSettings

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = write_reviews(Path(tmp) / "big.csv", rows)
        train, val = split(prepare(read_table(csv_path), "text", "label"), 0.02, 0)
        settings = FineTuneSettings(max_steps=20, batch_size=16, max_length=128, patience=0, device="cpu")
        fine_tune(train, val, settings, Path(tmp) / "run")
    print(json.dumps({"peak_rss_mb": _peak_rss_kb(resource) / 1024}))


def _peak_rss_kb(resource) -> float:  # noqa: ANN001
    """This process's own high-water mark. ru_maxrss is not: on Linux it keeps the parent's RSS from
    before exec when the child was spawned with vfork, which Python's subprocess does."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def idle_stall(seconds: float = 3.0) -> int:
    """The same 5 ms timer with nothing running: the machine's own scheduling noise."""
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    clock, gaps, last = QElapsedTimer(), [], [0]
    clock.start()

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    return max(gaps[5:] or [0])


def gui_stall(csv_path: Path, out: Path, steps: int) -> dict:
    """Longest gap between 5 ms timer ticks while a Worker trains and relays every event as a signal."""
    from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal
    from PySide6.QtWidgets import QApplication, QLabel

    from lmstudio_app.core.data.labeled import prepare, split
    from lmstudio_app.core.data.table import read_table
    from lmstudio_app.core.finetune.job import fine_tune
    from lmstudio_app.core.finetune.settings import FineTuneSettings
    from lmstudio_app.ui.qthreading import Worker

    app = QApplication.instance() or QApplication([])
    label = QLabel("training")
    label.show()

    class Relay(QObject):
        event = Signal(dict)

    relay = Relay()
    seen = []
    relay.event.connect(lambda e: (seen.append(e), label.setText(str(e.get("step")))))
    train, val = split(prepare(read_table(csv_path), "text", "label"), 0.2, 0)
    settings = FineTuneSettings(
        max_steps=steps, batch_size=16, max_length=128, patience=0, device="cpu", eval_steps=steps // 2
    )
    worker = Worker(fine_tune, train, val, settings, out, on_event=relay.event.emit)
    worker.progress.connect(lambda f, m: label.setText(m))
    clock, gaps, last = QElapsedTimer(), [], [0]
    clock.start()
    phase = ["start"]
    worker.progress.connect(lambda f, m: phase.__setitem__(0, m.split(":")[0][:40]))
    worst: list[tuple[int, str]] = []

    training_gaps: list[int] = []

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        if phase[0].startswith("Step"):
            training_gaps.append(gaps[-1])
        if len(gaps) > 5 and gaps[-1] > 50:
            worst.append((gaps[-1], phase[0]))
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    done = []
    worker.finished.connect(lambda: done.append(1))
    worker.error.connect(lambda m, tb: print(m, tb, file=sys.stderr))
    timer.start()
    started = time.perf_counter()
    worker.start()
    while not done:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    gaps = gaps[5:] or [0]  # ignore the start-up ticks
    worst.sort(reverse=True)
    return {
        "longest_stall_ms": max(gaps),
        "training_stall_ms": max(training_gaps or [0]),
        "training_p99_ms": sorted(training_gaps or [0])[int(0.99 * (len(training_gaps or [0]) - 1))],
        "p99_ms": sorted(gaps)[int(0.99 * (len(gaps) - 1))],
        "events": len(seen),
        "seconds": time.perf_counter() - started,
        "worst": worst[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=800)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rss-rows", type=int, default=10_000)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--skip-gui", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-precision", action="store_true")
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv_path = write_reviews(tmp / "reviews.csv", args.rows)
        if not args.skip_speed:
            # Alternate the two and keep each one's best round: other processes on a shared machine
            # slow down whichever run they overlap, and the best round is the least disturbed one.
            rounds = []
            for r in range(args.rounds):  # alternate which one goes first, so a load drift favours neither
                if r % 2:
                    plain = plain_trainer_run(csv_path, tmp / f"plain{r}", args)
                    ours = engine_run(csv_path, tmp / f"ours{r}", args)
                else:
                    ours = engine_run(csv_path, tmp / f"ours{r}", args)
                    plain = plain_trainer_run(csv_path, tmp / f"plain{r}", args)
                rounds.append((ours, plain))
            ratios = sorted(o["samples_per_s"] / p["samples_per_s"] for o, p in rounds)
            ours = max((o for o, _ in rounds), key=lambda x: x["samples_per_s"])
            plain = max((p for _, p in rounds), key=lambda x: x["samples_per_s"])
            print(
                f"speed, MiniLM, {args.rows} rows, {args.epochs:g} epoch(s), batch {args.batch_size}, max length "
                f"{args.max_length}, best of {args.rounds}: ours {ours['samples_per_s']:.2f} samples/s, plain "
                f"Trainer {plain['samples_per_s']:.2f} samples/s, ratio "
                f"{ours['samples_per_s'] / plain['samples_per_s']:.2f}x (goal >= 1.0); median ratio of the rounds "
                f"{ratios[len(ratios) // 2]:.2f}x; every round (ours, plain): "
                + ", ".join(f"({o['samples_per_s']:.2f}, {p['samples_per_s']:.2f})" for o, p in rounds)
            )
            print(
                "accuracy (last round): "
                + ", ".join(
                    f"ours {o['accuracy'] * 100:.1f} %, plain Trainer {p['accuracy'] * 100:.1f} % (difference "
                    f"{abs(o['accuracy'] - p['accuracy']) * 100:.1f} points, goal <= 1)"
                    for o, p in rounds[-1:]
                )
            )
        if not args.skip_precision:
            runs = []
            for r in range(args.rounds):  # alternated, as above
                order = ("auto", "fp32") if r % 2 == 0 else ("fp32", "auto")
                got = {p: engine_run(csv_path, tmp / f"prec-{p}-{r}", args, precision=p) for p in order}
                runs.append(got)
            best = {p: max((g[p] for g in runs), key=lambda x: x["samples_per_s"]) for p in ("auto", "fp32")}
            a, f = best["auto"], best["fp32"]
            print(
                f"precision: auto chose {a['precision']}: {a['samples_per_s']:.2f} samples/s against fp32 "
                f"{f['samples_per_s']:.2f} = {a['samples_per_s'] / f['samples_per_s']:.2f}x (best of {args.rounds}); "
                f"accuracy {a['accuracy'] * 100:.1f} % vs {f['accuracy'] * 100:.1f} %, macro-F1 "
                f"{a['macro_f1']:.3f} vs {f['macro_f1']:.3f}"
            )
        if not args.skip_gui:
            idle = idle_stall()
            stall = gui_stall(csv_path, tmp / "gui", steps=30)
            print(f"GUI: longest gap of a 5 ms timer with nothing running (this machine's noise): {idle} ms")
            print(
                f"GUI: longest event-loop stall while MiniLM trained 30 steps in a Worker: "
                f"{stall['training_stall_ms']} ms during the training steps (99th percentile "
                f"{stall['training_p99_ms']} ms; goal < 50 ms), {stall['longest_stall_ms']} ms over the whole run "
                f"including the first import of the Trainer ({stall['events']} events relayed); worst stalls and "
                f"what was running: {stall['worst']}"
            )
    if not args.skip_rss:
        child = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(args.rss_rows)],
            capture_output=True,
            text=True,
            check=True,
        )
        rss = json.loads(child.stdout.strip().splitlines()[-1])["peak_rss_mb"]
        print(
            f"memory: peak RSS {rss:.0f} MB for MiniLM on {args.rss_rows} rows (read, tokenized, 20 steps; goal < 2048 MB)"
        )


if __name__ == "__main__":
    main()
