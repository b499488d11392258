"""Inside tab speed: self-attention step by step (64 tokens, MiniLM) and the layer lens vs forward passes.

    .venv/bin/python benchmarks/bench_inside.py [--repeats 7] [--tokens 64]

Goals: the step-by-step view (the model's pass, the layer rebuilt by hand, and the view drawn offscreen)
under 200 ms on the CPU with the embedded all-MiniLM-L6-v2; the layer lens on the embedded minilm-mlm
under the time of 2 plain forward passes of that model. Figures are medians (and best) of --repeats
runs, interleaved so that background load on a shared machine hits every figure alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_attention import text_of  # noqa: E402 (the same long sentence, cut to n tokens)

STEPS_GOAL_MS = 200.0
LENS_GOAL_PASSES = 2.0


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return (time.perf_counter() - start) * 1000, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    args = parser.parse_args()

    import torch
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from lmstudio_app.core.inside.lens import layer_lens
    from lmstudio_app.core.inside.steps import Choice, attention_steps
    from lmstudio_app.core.models.registry import ModelRegistry
    from lmstudio_app.core.models.sources import DEFAULT_ENCODER, DEFAULT_MASKED_LM
    from lmstudio_app.ui.app import make_application
    from lmstudio_app.ui.app_state import AppState
    from lmstudio_app.ui.inside.panel import InsidePanel

    if args.threads:
        torch.set_num_threads(args.threads)
    make_application()
    state = AppState()
    encoder = state.registry.load(DEFAULT_ENCODER)
    mlm = ModelRegistry().load(DEFAULT_MASKED_LM)
    text = text_of(encoder.tokenizer, args.tokens)
    words = text_of(mlm.tokenizer, args.tokens).split()
    words[len(words) // 2] = "[MASK]"
    masked = " ".join(words)
    choice = Choice(layer=3, head=5, token=args.tokens // 2)
    panel = InsidePanel(state)
    panel.resize(1300, 900)
    view = panel.views[0]
    panel.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    panel.show()

    def render_image(widget):
        QApplication.processEvents()
        return widget.grab()

    def steps():
        return attention_steps(encoder, text, choice)

    def steps_drawn():
        view.set_result(steps())
        return render_image(panel)

    enc_inputs = encoder.tokenizer(text, return_tensors="pt")
    mlm_inputs = mlm.tokenizer(masked, return_tensors="pt")

    def forward(model, inputs):
        with torch.inference_mode():
            return model(**inputs)

    def lens():
        return layer_lens(mlm, masked)

    for fn in (steps, steps_drawn, lens, lambda: forward(mlm.model, mlm_inputs)):
        fn()  # warm-up
    assert len(steps().tokens) == args.tokens
    names = ("steps", "steps_drawn", "encoder_forward", "lens", "mlm_forward")
    runs: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(args.repeats):
        runs["steps"].append(timed(steps)[0])
        runs["steps_drawn"].append(timed(steps_drawn)[0])
        runs["encoder_forward"].append(timed(lambda: forward(encoder.model, enc_inputs))[0])
        runs["lens"].append(timed(lens)[0])
        runs["mlm_forward"].append(timed(lambda: forward(mlm.model, mlm_inputs))[0])
    med = {k: statistics.median(v) for k, v in runs.items()}
    best = {k: min(v) for k, v in runs.items()}
    print(
        f"{args.tokens} tokens, median (best) of {args.repeats}, torch threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    drawn = med["steps_drawn"]
    print(f"self-attention step by step, {DEFAULT_ENCODER}, layer {choice.layer} head {choice.head}:")
    print(f"  core (forward + layer rebuilt):   {med['steps']:7.1f} ms ({best['steps']:.0f})")
    print(
        f"  core + view drawn offscreen:      {drawn:7.1f} ms ({best['steps_drawn']:.0f})   goal < "
        f"{STEPS_GOAL_MS:.0f} ms: {'met' if drawn < STEPS_GOAL_MS else 'NOT met'}, ratio to goal "
        f"{drawn / STEPS_GOAL_MS:.2f}"
    )
    print(
        f"  plain forward of the encoder:     {med['encoder_forward']:7.1f} ms ({best['encoder_forward']:.0f})"
    )
    passes = med["lens"] / med["mlm_forward"]
    print(f"layer lens, {DEFAULT_MASKED_LM}:")
    print(f"  lens (every layer read by the head): {med['lens']:7.1f} ms ({best['lens']:.0f})")
    print(f"  plain forward of the masked-LM:      {med['mlm_forward']:7.1f} ms ({best['mlm_forward']:.0f})")
    print(
        f"  lens / forward: {passes:.2f} passes   goal < {LENS_GOAL_PASSES:.0f}: "
        f"{'met' if passes < LENS_GOAL_PASSES else 'NOT met'}, ratio to goal {passes / LENS_GOAL_PASSES:.2f}"
    )
    panel.shutdown()


if __name__ == "__main__":
    main()
