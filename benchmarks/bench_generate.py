"""Generate speed on the embedded minilm-clm: the app's streaming against a bare `model.generate`, and the
next-token table's latency.

    .venv/bin/python benchmarks/bench_generate.py [--repeats 5] [--new-tokens 64] [--threads N] [--no-gui]

1. Tokens/s, greedy, exactly --new-tokens new tokens (min = max, so every run decodes as many), median of
   --repeats runs of each, the three alternating so that background load hits all alike:
   - bare: `model.generate(**inputs, do_sample=False, max_new_tokens=N, min_new_tokens=N)`, nothing else;
   - core: `core/generate/stream.generate` with an `on_token` callback (what the CLI and the tab call:
     scores and raw logits kept, each token decoded with its probability and five alternatives);
   - GUI: the Generate tab's `GenerateBox` offscreen: a Worker thread, tokens drained into the window's
     thread every 40 ms and drawn as coloured spans, timed from `start` to `finished`.
   All three must give the same tokens. Goal: the app costs no more than 10 % (ratio >= 0.90).
2. The next-token table: `next_token_distribution` on a 20-token prompt (top 10) against one bare forward
   pass with a softmax, median of 20; and the tab's own path (`predict_now` to `distribution_shown`,
   a Worker and the table drawn), median of 10. While typing, the tab waits 250 ms after the last key
   before it asks (the debounce), so what the user waits for is that pause plus this latency.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPT = "the old man walked slowly along the river"
WORDS = "the old man walked slowly along the river bank while his dog ran ahead to chase the ducks in the reeds".split()


def prompt_of(adapter, length: int) -> str:
    """A prompt whose model inputs are exactly `length` tokens (the adapter's BOS included)."""
    for n in range(len(WORDS), 0, -1):
        text = " ".join(WORDS[:n])
        if adapter.encode(text)["input_ids"].shape[1] == length:
            return text
    raise SystemExit(f"no prefix of the sentence is {length} tokens long")


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


class GuiRun:
    """The Generate tab's streaming widget, offscreen, on the same model."""

    def __init__(self, loaded) -> None:
        import tempfile

        from PySide6.QtCore import QSettings

        from lmstudio_app.ui.app import make_application
        from lmstudio_app.ui.generate.generate_box import GenerateBox

        self.app = make_application()
        # The tab remembers its prompt and settings: in a scratch folder, not the user's own.
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
        self.loaded = loaded
        self.box = GenerateBox()
        self.box.resize(900, 600)
        self.box.show()

    def run(self, settings) -> list[int]:
        from PySide6.QtCore import QEventLoop

        loop = QEventLoop()
        self.box.finished.connect(loop.quit)
        self.box.start(self.loaded, PROMPT, None, settings)
        loop.exec()
        self.box.finished.disconnect(loop.quit)
        return [t.id for t in self.box.result.tokens]


def table_latency_ms(loaded, prompt: str, repeats: int) -> float:
    """The Generate tab's next-token table: predict_now until the table shows the distribution."""
    from PySide6.QtCore import QEventLoop

    from lmstudio_app.ui.app_state import AppState
    from lmstudio_app.ui.generate.panel import GeneratePanel

    state = AppState()
    state.add_loaded(state.registry.add(loaded))
    panel = GeneratePanel(state)
    panel.resize(1000, 700)
    panel.show()
    panel.prompt.setPlainText(prompt)
    times = []
    shown = []
    panel.distribution_shown.connect(lambda: shown.append(time.perf_counter()))
    for _ in range(repeats + 1):  # the first one warms up
        loop = QEventLoop()
        panel.distribution_shown.connect(loop.quit)
        panel._timer.stop()  # the debounce is not what is measured here
        before = len(shown)
        start = time.perf_counter()
        panel.predict_now()
        if len(shown) == before:  # a refusal is shown at once, before the loop would run
            loop.exec()
        times.append(shown[-1] - start)
        panel.distribution_shown.disconnect(loop.quit)
    assert panel.next_tokens.table.rowCount() == panel.next_tokens.k_spin.value(), "no distribution shown"
    panel.shutdown()
    return statistics.median(times[1:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own choice)")
    parser.add_argument("--no-gui", action="store_true", help="leave out the GUI figures")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from lmstudio_app.core.generate.next_token import next_token_distribution
    from lmstudio_app.core.generate.settings import GenerateSettings
    from lmstudio_app.core.generate.stream import generate
    from lmstudio_app.core.models.family import adapter_for
    from lmstudio_app.core.models.registry import ModelRegistry

    loaded = ModelRegistry().load("minilm-clm")
    model, tokenizer = loaded.model, loaded.tokenizer
    adapter = adapter_for(model, tokenizer)
    n = args.new_tokens
    settings = GenerateSettings(strategy="greedy", max_new_tokens=n, min_new_tokens=n)
    inputs = adapter.encode(PROMPT)
    print(
        f"minilm-clm, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}, "
        f"prompt {inputs['input_ids'].shape[1]} tokens, greedy, {n} new tokens, median of {args.repeats}"
    )

    def bare() -> list[int]:
        with torch.inference_mode():
            out = model.generate(
                **inputs,
                do_sample=False,
                max_new_tokens=n,
                min_new_tokens=n,
                pad_token_id=tokenizer.pad_token_id,
            )
        return out[0, inputs["input_ids"].shape[1] :].tolist()

    def core() -> list[int]:
        seen = []
        result = generate(model, tokenizer, PROMPT, settings, on_token=lambda t: seen.append(t.id))
        assert seen == [t.id for t in result.tokens]
        return seen

    runs = {"bare model.generate": bare, "core stream.generate": core}
    if not args.no_gui:
        gui = GuiRun(loaded)
        runs["Generate tab (GenerateBox)"] = lambda: gui.run(settings)
    expected = bare()  # warm-up, and the tokens every path must give
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            ids = fn()
            times[name].append(time.perf_counter() - start)
            assert ids == expected, (name, ids, expected)
    base = n / statistics.median(times["bare model.generate"])
    for name, values in times.items():
        rate = n / statistics.median(values)
        spread = f"{n / max(values):.1f}-{n / min(values):.1f}"
        print(f"{name:28s} {rate:7.1f} tokens/s ({spread})  ratio to bare {rate / base:.3f} (goal >= 0.90)")

    prompt = prompt_of(adapter, 20)
    encoded = adapter.encode(prompt)

    def forward() -> None:
        with torch.inference_mode():
            model(**encoded).logits[0, -1].float().softmax(-1)

    forward()
    fwd = median_ms(forward, 20)
    table = median_ms(lambda: next_token_distribution(model, tokenizer, prompt, top_k=10), 20)
    print(
        f"next-token distribution, 20-token prompt: core {table:.1f} ms / bare forward {fwd:.1f} ms = {table / fwd:.2f}"
    )
    if not args.no_gui:
        shown = table_latency_ms(loaded, prompt, 10)
        print(
            f"next-token table in the tab (Worker + table drawn): {shown:.1f} ms (+ the 250 ms typing pause)"
        )


if __name__ == "__main__":
    main()
