"""Explain speed on the embedded MiniLM: IG and gradient x input for one text, and a 2,000-row map.

    .venv/bin/python benchmarks/bench_explain.py [--repeats 3] [--tokens 64] [--rows 2000] [--threads N]

Goals (issue 13): IG with 32 steps on the MiniLM classifier (MiniLM + a fresh classification head) for
a 64-token text < 1.5 s; gradient x input < 3 plain forward passes; a map of 2,000 rows < 30 s.
Medians of --repeats runs; all figures from one run, so ratios compare like with like.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_attention import TEXT, text_of  # noqa: E402


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def minilm_classifier():
    """The embedded MiniLM with a fresh 2-class head, as a LoadedModel the core accepts."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from lmstudio_app.core.models.registry import HEAD_CLS, LoadedModel
    from lmstudio_app.core.models.sources import DEFAULT_ENCODER, find_embedded

    source = find_embedded(DEFAULT_ENCODER)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(source.path, num_labels=2).eval()
    tokenizer = AutoTokenizer.from_pretrained(source.path)
    return LoadedModel(
        key="minilm-cls", name="minilm-cls", source=source, model=model, tokenizer=tokenizer, device="cpu",
        dtype="float32", architecture=type(model).__name__, heads=(HEAD_CLS,), param_count=0, bytes=0,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own choice)")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from lmstudio_app.core.explain.attribution import ExplainOptions, explain
    from lmstudio_app.core.explain.embed_map import MapOptions, dataset_map

    loaded = minilm_classifier()
    text = text_of(loaded.tokenizer, args.tokens)
    enc = loaded.tokenizer(text, return_tensors="pt")
    print(
        f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}, {args.tokens} tokens"
    )

    def forward() -> None:
        with torch.no_grad():
            loaded.model(**enc)

    forward()  # warm-up
    explain(loaded, text, ExplainOptions(method="gradxinput"))
    fwd = median_time(forward, max(9, args.repeats))
    ig = median_time(lambda: explain(loaded, text, ExplainOptions(method="ig", steps=32)), args.repeats)
    gxi = median_time(
        lambda: explain(loaded, text, ExplainOptions(method="gradxinput")), max(5, args.repeats)
    )
    result = explain(loaded, text, ExplainOptions(method="ig", steps=32))
    print(f"forward pass (no grad)       {fwd * 1000:8.1f} ms")
    print(
        f"IG, 32 steps                 {ig * 1000:8.1f} ms = {ig / 1.5:.2f} of the 1.5 s goal (delta {result.delta:+.2g})"
    )
    print(f"gradient x input             {gxi * 1000:8.1f} ms = {gxi / fwd:.2f} forward passes (goal < 3)")

    rng = random.Random(0)
    rows = [" ".join(rng.choices(TEXT, k=rng.randint(8, 40))) for _ in range(args.rows)]
    encoder = minilm_classifier()
    encoder.heads = ("encoder",)
    start = time.perf_counter()
    dataset_map(encoder, rows, options=MapOptions(pooling="mean"))
    took = time.perf_counter() - start
    print(f"map of {args.rows:,} rows (PCA)    {took:8.1f} s  = {took / 30:.2f} of the 30 s goal")


if __name__ == "__main__":
    main()
