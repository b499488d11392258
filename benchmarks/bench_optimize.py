"""Optimize: int8 ONNX Runtime against the original on a real-text classifier, and fill-mask through ONNX
Runtime against transformers' fill-mask pipeline.

1. Classifier: the embedded MiniLM fine-tuned with the app's defaults (3 epochs, lr 1e-4, batch 16) on
   real sentences, CrowS-Pairs' `sent_more` labelled with its `bias_type` (9 classes, 1,508 rows,
   ../shared/data/crows-pairs; a seeded 20 % validation split), then `optimize --method onnx-int8` on the
   run's validation rows: the comparison table (one intra-op thread), the int8 speed-up at batch 1
   (goal >= 3x) and the accuracy it loses (goal <= 1 point).
2. Fill-mask: the embedded minilm-mlm, one mask in a 10-token and a 128-token text, one thread: the HF
   pipeline, the app's torch path, and the app's ONNX Runtime paths (fp32: the Fill-mask tab's fast
   runtime; int8: an optimized folder); median latencies, the paths alternating so load hits all alike.

    .venv/bin/python benchmarks/bench_optimize.py [--run DIR] [--epochs 3] [--skip-classifier]
        [--skip-fillmask] [--repeats 30] [--out result.json] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CROWS = Path(__file__).resolve().parents[2] / "shared" / "data" / "crows-pairs" / "crows_pairs_anonymized.csv"


def fine_tune_crows(run_dir: Path, epochs: float) -> Path:
    """The embedded MiniLM fine-tuned on CrowS-Pairs bias types; returns the model folder."""
    from lmstudio_app.core.data.labeled import DataSource
    from lmstudio_app.core.finetune.datasets import DataPlan, build_splits
    from lmstudio_app.core.finetune.job import fine_tune
    from lmstudio_app.core.finetune.settings import FineTuneSettings

    plan = DataPlan(DataSource(str(CROWS), text_column="sent_more", label_column="bias_type"), None, 0.2, 42)
    train, val = build_splits(plan)
    settings = FineTuneSettings(
        text_column="sent_more", label_column="bias_type", epochs=epochs, max_length=64, device="cpu"
    )
    start = time.perf_counter()
    result = fine_tune(train, val, settings, run_dir, plan=plan)
    m = result.metrics
    print(
        f"fine-tuned on {len(train)} rows in {time.perf_counter() - start:.0f} s: accuracy "
        f"{m['eval_accuracy']:.3f}, macro-F1 {m['eval_macro_f1']:.3f} on {len(val)} validation rows"
    )
    return Path(result.model_dir)


def classifier(model_dir: Path, out: Path) -> dict:
    from lmstudio_app.core.optimize.run import OptimizeRequest, optimize

    comparison = optimize(OptimizeRequest(model_dir, "onnx-int8", out))
    print(comparison.table())
    for note in comparison.notes:
        print("note:", note)
    by = {v.name: v for v in comparison.variants}
    speedup = comparison.speedup("onnx-int8")
    lost = (by["original"].accuracy - by["onnx-int8"].accuracy) * 100
    print(
        f"int8: {speedup:.2f}x the original's speed at batch 1 (goal >= 3), {lost:+.1f} accuracy points lost "
        f"(goal <= 1), agreement {by['onnx-int8'].agreement:.3f}, recipe: {comparison.recipe}"
    )
    return {**comparison.to_dict(), "int8_speedup": speedup, "accuracy_points_lost": lost}


def fill_mask_latency(out: Path, repeats: int) -> dict:
    import torch
    import transformers
    from bench_fillmask import load_model, sentence

    from lmstudio_app.core.fillmask.predict import fill_mask
    from lmstudio_app.core.models.onnx_runtime import OnnxMaskedLM, load_masked_lm
    from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM, find_embedded
    from lmstudio_app.core.optimize.export import export_masked_lm
    from lmstudio_app.core.optimize.run import OptimizeRequest, optimize

    torch.set_num_threads(1)
    model, tokenizer, label = load_model("cpu")
    pipe = transformers.pipeline("fill-mask", model=model, tokenizer=tokenizer, device=torch.device("cpu"))
    fp32 = OnnxMaskedLM(
        export_masked_lm(model, tokenizer, out / "fp32.onnx"), tokenizer.pad_token_id, model.config, 1
    )
    optimize(OptimizeRequest(find_embedded(DEFAULT_MASKED_LM).path, "onnx-int8", out / "mlm-int8"))
    int8, _ = load_masked_lm(out / "mlm-int8", threads=1)
    print(f"fill-mask, {label}, one thread, median of {repeats}:")
    result = {}
    for name, length in (("short", 10), ("long", 128)):
        text = sentence(tokenizer, length)
        paths = {
            "pipeline": lambda text=text: pipe(text, top_k=5),
            "torch": lambda text=text: fill_mask(model, tokenizer, text, top_k=5),
            "onnx-fp32": lambda text=text: fill_mask(fp32, tokenizer, text, top_k=5),
            "onnx-int8": lambda text=text: fill_mask(int8, tokenizer, text, top_k=5),
        }
        top = {k: fn() for k, fn in paths.items()}  # warm-up; the fp32 answer must be the torch one
        assert [c.token for c in top["onnx-fp32"].masks[0].candidates] == [
            c.token for c in top["torch"].masks[0].candidates
        ]
        times: dict[str, list[float]] = {k: [] for k in paths}
        for _ in range(repeats):
            for key, fn in paths.items():
                start = time.perf_counter()
                fn()
                times[key].append(time.perf_counter() - start)
        ms = {k: statistics.median(v) * 1000 for k, v in times.items()}
        ratios = ", ".join(f"{k} {ms[k]:.2f} ms ({ms[k] / ms['pipeline']:.2f})" for k in paths)
        print(f"  {name} ({length} tokens): {ratios}  [ratio to the pipeline in brackets]")
        result[name] = ms
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a finished fine-tune run's model folder to optimize (skips training)")
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--skip-classifier", action="store_true")
    parser.add_argument("--skip-fillmask", action="store_true")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument(
        "--workdir", type=Path, help="keep the run and the exports here (default: a temporary folder)"
    )
    args = parser.parse_args()

    from lmstudio_app.core.jsonio import write_json
    from lmstudio_app.core.optimize.quantize import int8_support

    result: dict = {"cpus": os.cpu_count(), "load_average_1min_at_start": os.getloadavg()[0]}
    result["int8_cpu"] = int8_support().note
    with tempfile.TemporaryDirectory(prefix="bench_optimize_") as scratch:
        tmp = args.workdir or scratch
        if not args.skip_classifier:
            model_dir = Path(args.run) if args.run else fine_tune_crows(Path(tmp) / "run", args.epochs)
            result["classifier"] = classifier(model_dir, Path(tmp) / "int8")
        if not args.skip_fillmask:
            result["fill_mask_ms"] = fill_mask_latency(Path(tmp), args.repeats)
    if args.out:
        write_json(args.out, result)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
