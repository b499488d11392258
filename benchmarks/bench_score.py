"""Sentence-scoring speed: the batched scorer against the naive one-mask-per-forward loop, on minilm-mlm.

    .venv/bin/python benchmarks/bench_score.py [--repeats 10] [--naive-pairs 50] [--pairs 1508] [--device cpu]

1. PLL of a 20-token sentence (special tokens included): lmstudio_app's `score_sentences` (all masked
   copies in one batch, the masked-LM head on the masked position only) against scoring it one mask at a
   time (one forward of the whole model per token, the textbook loop); median of `--repeats` each,
   runs alternating so that background load hits both alike, and the same sums from both.
2. CrowS-Pairs: `crows_metric` on `--pairs` pairs of the shipped file (all 1,508 by default), and the
   naive loop of the authors' metric.py (one forward per shared token, full logits) on the first
   `--naive-pairs` pairs, with the batched scorer timed on the same subset for the ratio; the naive time
   for all pairs is extrapolated from the subset. Both give the same rounded scores on the subset.
"""

from __future__ import annotations

import argparse
import statistics
import time

WORDS = "the old man walked slowly along the river bank while his dog ran ahead to chase the ducks".split()


def sentence(tokenizer, length: int) -> str:
    """A text of exactly `length` tokens with [CLS] and [SEP]."""
    for n in range(len(WORDS), 0, -1):
        text = " ".join(WORDS[:n]) + "."
        if len(tokenizer(text)["input_ids"]) == length:
            return text
    raise SystemExit(f"no prefix of the sentence is {length} tokens long")


def naive_pll(model, tokenizer, text: str) -> float:
    import torch

    ids = tokenizer(text)["input_ids"]
    total = 0.0
    for p in range(1, len(ids) - 1):
        row = torch.tensor([ids])
        row[0, p] = tokenizer.mask_token_id
        with torch.inference_mode():
            total += float(model(input_ids=row)[0][0, p].log_softmax(-1)[ids[p]])
    return total


def naive_crows(model, tokenizer, pairs) -> list[tuple[float, float]]:
    """metric.py's mask_unigram, one masked copy per forward."""
    import torch

    from lmstudio_app.core.score.crows import shared_positions

    out = []
    for pair in pairs:
        more, less = (tokenizer(s.lower())["input_ids"] for s in (pair.more, pair.less))
        scores = []
        for ids, shared in zip((more, less), shared_positions(more, less), strict=True):
            total = 0.0
            for p in shared[1:-1]:
                row = torch.tensor([ids])
                row[0, p] = tokenizer.mask_token_id
                with torch.inference_mode():
                    total += float(model(input_ids=row)[0][0, p].log_softmax(-1)[ids[p]])
            scores.append(round(total, 3))
        out.append((scores[0], scores[1]))
    return out


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--naive-pairs", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=1508)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch

    from lmstudio_app.core.models.registry import ModelRegistry
    from lmstudio_app.core.score.crows import crows_metric, read_crows_pairs
    from lmstudio_app.core.score.sentences import score_sentences

    loaded = ModelRegistry().load("minilm-mlm", args.device, "float32")
    model, tokenizer = loaded.model, loaded.tokenizer
    print(f"model: embedded minilm-mlm; device: {args.device}; torch threads: {torch.get_num_threads()}")

    text = sentence(tokenizer, 20)
    ours_fn = lambda: score_sentences(model, tokenizer, [text], "pll", top_k=0)[0].log_prob  # noqa: E731
    naive_fn = lambda: naive_pll(model, tokenizer, text)  # noqa: E731
    assert abs(ours_fn() - naive_fn()) < 1e-3  # warm-up, and the same sum from both
    times: dict[str, list[float]] = {"batched": [], "naive": []}
    for _ in range(args.repeats):
        for key, fn in (("batched", ours_fn), ("naive", naive_fn)):
            times[key].append(timed(fn)[1])
    ours, naive = statistics.median(times["batched"]), statistics.median(times["naive"])
    print(
        f"PLL, 20 tokens: batched {ours * 1000:.1f} ms, one mask at a time {naive * 1000:.1f} ms, "
        f"ratio naive/batched {naive / ours:.2f} (median of {args.repeats})"
    )

    pairs = read_crows_pairs()
    subset = pairs[: args.naive_pairs]
    naive_scores, naive_time = timed(lambda: naive_crows(model, tokenizer, subset))
    ours_subset, ours_subset_time = timed(lambda: crows_metric(model, tokenizer, subset))
    same = sum((r.more_score, r.less_score) == n for r, n in zip(ours_subset.rows, naive_scores, strict=True))
    print(
        f"CrowS-Pairs, first {len(subset)} pairs: batched {ours_subset_time:.1f} s, naive loop "
        f"{naive_time:.1f} s, ratio naive/batched {naive_time / ours_subset_time:.2f}; identical rounded "
        f"scores on {same} of {len(subset)} pairs"
    )
    result, seconds = timed(lambda: crows_metric(model, tokenizer, pairs[: args.pairs]))
    print(
        f"CrowS-Pairs, {result.pairs} pairs: batched {seconds:.0f} s, metric {result.metric:.2f}; "
        f"naive loop extrapolated from the subset: {naive_time / len(subset) * result.pairs:.0f} s"
    )
    for kind, figures in result.by_type().items():
        print(f"  {kind:<20} {figures['metric']:6.2f}  ({figures['pairs']} pairs)")


if __name__ == "__main__":
    main()
