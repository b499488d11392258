"""GUI responsiveness of the fine-tuning wizard: the longest event-loop stall while it works.

A 5 ms QTimer ticks on the GUI thread; the longest gap between ticks is how long the window froze.
Measured (a) while the wizard opens, (b) while the Data page reads a 100k-row CSV, (c) while the Settings
page measures token lengths and warms up (its imports were done at start, as the app does behind its
splash: ui/startup.py), (d) while the Train page starts training (a child process of the CLI, which the
page follows: ui/finetune/training_session.py) up to the first plotted step, and (e) while it follows the
embedded MiniLM's training with live plots, log and progress (goal < 50 ms everywhere). The app's
QApplication set-up and start-up imports are used, as the app runs.

    .venv/bin/python benchmarks/bench_wizard_gui.py [--rows 100000] [--train-rows 400] [--steps 20]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORDS = "good great bad awful film story acting plot music ending cast the a was very really not".split()


def write_csv(path: Path, rows: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        f.write("text,label\n")
        for i in range(rows):
            label = "positive" if i % 2 else "negative"
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40)))
            f.write(f'"{label[:3]} {words}, ok",{label}\n')
    return path


class StallMeter:
    """Gaps between ticks of a 5 ms GUI timer; `phase()` labels the long ones (what the window showed)."""

    def __init__(self, phase=lambda: "") -> None:
        from PySide6.QtCore import QElapsedTimer, QTimer

        self.clock = QElapsedTimer()
        self.gaps: list[int] = []
        self.long: list[tuple[int, str]] = []
        self.phase = phase
        self.timer = QTimer(interval=5, timeout=self._tick)

    def start(self) -> None:
        self.gaps.clear()
        self.long.clear()
        self.clock.start()
        self.timer.start()

    def stop(self) -> tuple[int, float]:
        self.timer.stop()
        gaps = sorted(self.gaps) or [0]
        return gaps[-1], gaps[int(0.99 * (len(gaps) - 1))]

    def _tick(self) -> None:
        gap = self.clock.restart()
        self.gaps.append(gap)
        if gap > 50:
            self.long.append((gap, self.phase()))


def wait(app, condition, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the wizard did not get there in time")
        app.processEvents()
        time.sleep(0.002)


def settle(app, seconds: float) -> None:
    """Let the event loop run, as while a user looks at the window."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.002)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the big file the Data page reads")
    parser.add_argument("--train-rows", type=int, default=400)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_wizard_"))
    os.environ.setdefault("LMSTUDIO_HOME", str(tmp / "home"))
    from lmstudio_app.ui.app import make_application
    from lmstudio_app.ui.app_state import AppState
    from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard
    from lmstudio_app.ui.startup import preload_stack

    app = make_application()
    started = time.perf_counter()
    preload_stack(app, "all-MiniLM-L6-v2").close()
    print(f"start-up imports behind the splash (as the app does): {time.perf_counter() - started:.1f} s")
    meter = StallMeter(lambda: "")
    meter.start()
    wizard = FineTuneWizard(AppState())
    wizard.ask_stop_training = lambda: True
    wizard.show()
    settle(app, 1.0)
    longest, _ = meter.stop()
    print(f"opened the wizard (first paint of the window): longest GUI stall {longest} ms")
    meter.phase = lambda: wizard.train_page.view.status.text()[:70]

    big = write_csv(tmp / "big.csv", args.rows)
    meter.start()
    started = time.perf_counter()
    wizard.open_file(big)
    wait(app, lambda: not wizard.data_page.loading, 600)
    longest, p99 = meter.stop()
    print(
        f"read {args.rows:,} rows on the Data page in {time.perf_counter() - started:.1f} s: "
        f"longest GUI stall {longest} ms (99th percentile {p99:.0f} ms)"
    )

    wizard.open_file(write_csv(tmp / "train.csv", args.train_rows, seed=1))
    wait(app, wizard.data_page.isComplete, 60)
    wizard.next()
    wait(app, wizard.columns_page.isComplete, 60)
    wizard.next()
    wait(app, wizard.split_page.isComplete, 60)
    wizard.next()  # the optional Base model page: nothing picked
    wait(app, wizard.choose_page.isComplete, 120)
    meter.start()
    started = time.perf_counter()
    wizard.next()
    wait(app, wizard.settings_page.isComplete, 120)
    page = wizard.settings_page
    wait(app, lambda: page.warm_up is not None and page.warm_up.done, 300)  # as while a user reads the page
    longest, p99 = meter.stop()
    print(
        f"Settings page, token lengths and warm-up in the background "
        f"({time.perf_counter() - started:.1f} s): "
        f"longest GUI stall {longest} ms (99th percentile {p99:.0f} ms)"
    )
    page.max_steps.setValue(args.steps)
    page.batch.setValue(16)
    page.patience.setValue(0)
    meter.start()
    started = time.perf_counter()
    wizard.next()
    view = wizard.train_page.view
    wait(app, lambda: bool(view.session.last_log) or view.state not in ("running", "cancelling"), 1800)
    longest, p99 = meter.stop()
    print(
        f"start of training (Train clicked -> first step plotted, {time.perf_counter() - started:.1f} s): "
        f"longest GUI stall {longest} ms (99th percentile {p99:.0f} ms)"
    )
    for gap, phase in sorted(meter.long, reverse=True)[:3]:
        print(f"  stall {gap} ms while: {phase}")
    meter.start()
    wait(app, lambda: view.state not in ("running", "cancelling"), 1800)
    longest, p99 = meter.stop()
    if view.state != "finished":
        print(f"training did not finish: {view.status.text()}")
        return 1
    ticks = len(meter.gaps)
    for gap, phase in sorted(meter.long, reverse=True)[:5]:
        print(f"  stall {gap} ms while: {phase}")
    print(
        f"trained MiniLM {args.steps} steps in the wizard in {time.perf_counter() - started:.1f} s: longest GUI "
        f"stall {longest} ms (99th percentile {p99:.0f} ms, median {statistics.median(meter.gaps or [0])} ms, "
        f"{ticks} ticks)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
