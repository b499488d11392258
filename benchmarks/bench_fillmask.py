"""Fill-mask latency: lmstudio_app's core against transformers.pipeline("fill-mask"), same model and inputs.

    .venv/bin/python benchmarks/bench_fillmask.py [--repeats 30] [--device cpu]

Uses the embedded minilm-mlm when it is installed, else a BertForMaskedLM built from the embedded
MiniLM encoder with a fresh (random) head: the speed is what is measured, not the quality. Short inputs
are 10 tokens and long ones 128 (special tokens included), one mask each; runs alternate between the two
paths so background load hits both alike. Prints median latencies and the ratio ours / pipeline.
"""

from __future__ import annotations

import argparse
import statistics
import time

PARAGRAPH = (
    "the history of the city goes back many centuries and its old streets still follow the paths that "
    "farmers and traders used long before the first walls were built around the market square where "
    "people met to sell bread milk cheese and wine while children played near the river that runs "
    "through the middle of town and carries boats down to the sea where the harbour has grown into one "
    "of the busiest ports in the country with ships arriving every day from distant places bringing "
    "goods and visitors who come to see the cathedral the museum and the gardens that line the banks "
    "of the river in spring when the trees are in flower and the weather is warm enough to sit outside "
    "and watch the boats go by while the bells ring out across the roofs of the old town"
).split()


def load_model(device: str):
    import transformers

    from lmstudio_app.core.models.sources import DEFAULT_ENCODER, DEFAULT_MASKED_LM, find_embedded

    embedded = find_embedded(DEFAULT_MASKED_LM)
    if embedded is not None:
        path, label = embedded.path, f"embedded {DEFAULT_MASKED_LM}"
    else:
        path = find_embedded(DEFAULT_ENCODER).path
        label = f"BertForMaskedLM from the embedded {DEFAULT_ENCODER} encoder with a fresh head"
    transformers.utils.logging.set_verbosity_error()
    model = transformers.BertForMaskedLM.from_pretrained(path).to(device).eval()
    return model, transformers.AutoTokenizer.from_pretrained(path), label


def sentence(tokenizer, length: int) -> str:
    """A text of exactly `length` tokens (with [CLS] and [SEP]) with one mask in the middle."""
    words: list[str] = []
    for word in PARAGRAPH * 4:
        if len(tokenizer(" ".join([*words, word, tokenizer.mask_token]))["input_ids"]) > length:
            break
        words.append(word)
    words.insert(len(words) // 2, tokenizer.mask_token)
    text = " ".join(words)
    assert len(tokenizer(text)["input_ids"]) == length, (length, len(tokenizer(text)["input_ids"]))
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()

    import torch
    import transformers

    if args.threads:
        torch.set_num_threads(args.threads)

    from lmstudio_app.core.fillmask.predict import fill_mask

    model, tokenizer, label = load_model(args.device)
    pipe = transformers.pipeline(
        "fill-mask", model=model, tokenizer=tokenizer, device=torch.device(args.device)
    )
    print(f"model: {label}; device: {args.device}; torch threads: {torch.get_num_threads()}")
    for name, length in (("short", 10), ("long", 128)):
        text = sentence(tokenizer, length)
        ours_fn = lambda text=text: fill_mask(model, tokenizer, text, top_k=5)  # noqa: E731
        theirs_fn = lambda text=text: pipe(text, top_k=5)  # noqa: E731
        mine, ref = ours_fn(), theirs_fn()  # warm-up, and the same answer from both
        assert [c.token_ids[0] for c in mine.masks[0].candidates] == [d["token"] for d in ref]
        times: dict[str, list[float]] = {"ours": [], "pipeline": []}
        for _ in range(args.repeats):
            for key, fn in (("ours", ours_fn), ("pipeline", theirs_fn)):
                start = time.perf_counter()
                fn()
                times[key].append(time.perf_counter() - start)
        ours, theirs = statistics.median(times["ours"]), statistics.median(times["pipeline"])
        print(
            f"{name} ({length} tokens): ours {ours * 1000:.2f} ms, pipeline {theirs * 1000:.2f} ms, "
            f"ratio ours/pipeline {ours / theirs:.2f} (median of {args.repeats})"
        )


if __name__ == "__main__":
    main()
