"""Attention view latency: one eager pass plus drawing the layer x head overview, 128 tokens, MiniLM.

    .venv/bin/python benchmarks/bench_attention.py [--repeats 7] [--tokens 128]

Goal: extraction + native overview drawn offscreen < 300 ms on the embedded all-MiniLM-L6-v2 (6 layers
x 12 heads). Also prints the plain SDPA forward (what the other panels pay) to show the cost of the
eager, weights-returning pass, and the time to build the offline bertviz page. Medians of --repeats runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TEXT = (
    "the history of the city goes back many centuries and its old streets still follow the paths that "
    "farmers and traders used long before the first walls were built around the market square where "
    "people met to sell bread milk cheese and wine while children played near the river that runs "
    "through the middle of town and carries boats down to the sea where the harbour has grown into one "
    "of the busiest ports in the country with ships arriving every day from distant places bringing "
    "goods and visitors who come to see the cathedral the museum and the gardens that line the banks"
).split()
GOAL_MS = 300.0


def text_of(tokenizer, n_tokens: int) -> str:
    """A sentence that tokenizes to exactly n_tokens, special tokens included."""
    words: list[str] = []
    while len(tokenizer(" ".join(words))["input_ids"]) < n_tokens:
        words.append(TEXT[len(words) % len(TEXT)])
    while len(tokenizer(" ".join(words))["input_ids"]) > n_tokens:
        words.pop()
    return " ".join(words)


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return (time.perf_counter() - start) * 1000, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()

    import torch
    from PySide6.QtCore import QSize

    from lmstudio_app.core.attention import extract_attention
    from lmstudio_app.core.bertviz_html import bertviz_html, missing_assets
    from lmstudio_app.core.registry import ModelRegistry
    from lmstudio_app.core.sources import DEFAULT_ENCODER
    from lmstudio_app.ui.app import make_application
    from lmstudio_app.ui.widgets.attention_grid import AttentionGrid
    from lmstudio_app.ui.widgets.heatmap import render_image

    make_application()
    loaded = ModelRegistry().load(DEFAULT_ENCODER)
    text = text_of(loaded.tokenizer, args.tokens)
    grid = AttentionGrid()
    grid.resize(QSize(1000, 650))
    render_image(grid)

    def extract():
        return extract_attention(loaded, text)

    def draw(result):
        grid.set_weights(result.attentions, result.tokens)
        return render_image(grid)

    def both():
        return draw(extract())

    inputs = loaded.tokenizer(text, return_tensors="pt")

    def sdpa_forward():
        with torch.inference_mode():
            return loaded.model(**inputs)

    result = extract()  # warm-up: first eager call, first draw
    draw(result)
    sdpa_forward()
    assert result.n_tokens == args.tokens, result.n_tokens
    # Interleaved, so that background load (this machine is shared) hits every figure alike.
    runs: dict[str, list[float]] = {"total": [], "extract": [], "draw": [], "sdpa": []}
    for _ in range(args.repeats):
        runs["total"].append(timed(both)[0])
        ms, result = timed(extract)
        runs["extract"].append(ms)
        runs["draw"].append(timed(lambda r=result: draw(r))[0])
        runs["sdpa"].append(timed(sdpa_forward)[0])
    med = {k: statistics.median(v) for k, v in runs.items()}
    low = {k: min(v) for k, v in runs.items()}
    total, extract_ms, draw_ms, sdpa_ms = med["total"], med["extract"], med["draw"], med["sdpa"]
    print(
        f"model: {DEFAULT_ENCODER} ({result.n_layers} layers x {result.n_heads} heads), {result.n_tokens} tokens, "
        f"torch threads {torch.get_num_threads()}, median (best) of {args.repeats}, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"extraction + overview drawn offscreen: {total:7.1f} ms ({low['total']:.0f})   (goal < {GOAL_MS:.0f} ms: "
        f"{'met' if total < GOAL_MS else 'NOT met'}, ratio to goal {total / GOAL_MS:.2f})"
    )
    print(f"  eager pass with weights + q/k hooks:  {extract_ms:7.1f} ms ({low['extract']:.0f})")
    print(f"  overview grid (mosaic + render):      {draw_ms:7.1f} ms ({low['draw']:.0f})")
    print(
        f"  plain SDPA forward (other panels):    {sdpa_ms:7.1f} ms ({low['sdpa']:.0f})   (eager pass / SDPA: {extract_ms / sdpa_ms:.2f})"
    )
    if not missing_assets():
        page_ms, page = timed(lambda: bertviz_html(result))
        print(f"offline bertviz page (head + model view): {page_ms:5.1f} ms, {len(page) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
