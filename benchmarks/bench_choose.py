"""Does the chooser rank base models the way fine-tuning them does?

Real text: CrowS-Pairs (../shared/data/crows-pairs; Nangia et al. 2020, CC BY-SA 4.0), each pair's first
sentence labelled with its bias type (9 classes, 1,508 rows), split 80/20 stratified. Five candidates, all
available offline, said as they are:
  1. all-MiniLM-L6-v2, the embedded pretrained sentence encoder;
  2. minilm-mlm, the embedded masked LM (MiniLM with continued masked-LM training);
  3. MiniLM with only its first 3 layers kept, 4. with only its first layer kept (copies made here);
  5. MiniLM's architecture with random weights (a copy made here, seeded).
The chooser (`core.choose.rank_models`, the CLI's and the wizard's) ranks them on a 500-row stratified
sample of the training split; then each candidate is fine-tuned on the whole training split with the app's
defaults (lr 1e-4, batch 16, early stopping, precision auto) but one epoch (`--epochs 3` for the app's
default; about three times the fine-tuning time) and its validation accuracy is measured. The figure:
Spearman's rank correlation between LogME (and the probe) and those accuracies.

The time depends on the 2-core machine's load (other engineers share it): the load average is printed at
the start and the end, with each step's seconds.

    .venv/bin/python benchmarks/bench_choose.py [--csv FILE --text-column C --label-column L] [--epochs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
CROWS = REPO.parent / "shared" / "data" / "crows-pairs" / "crows_pairs_anonymized.csv"


def make_variants(folder: Path) -> dict[str, str]:
    """MiniLM cut to its first 3 and first 1 layers, and MiniLM's architecture with random weights."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from lmstudio_app.core.models.sources import DEFAULT_ENCODER, find_embedded

    source = find_embedded(DEFAULT_ENCODER).path
    tokenizer = AutoTokenizer.from_pretrained(source)
    made = {}
    for layers in (3, 1):
        model = AutoModel.from_pretrained(source)
        model.encoder.layer = model.encoder.layer[:layers]
        model.config.num_hidden_layers = layers
        made[f"MiniLM, first {layers} layer{'s' if layers > 1 else ''}"] = _save(
            model, tokenizer, folder / f"l{layers}"
        )
    torch.manual_seed(0)
    model = AutoModel.from_config(AutoModel.from_pretrained(source).config)
    made["MiniLM architecture, random weights"] = _save(model, tokenizer, folder / "random")
    return made


def _save(model, tokenizer, folder: Path) -> str:  # noqa: ANN001
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def fine_tuned_accuracy(spec: str, train, val, out: Path, epochs: float) -> tuple[float, float]:  # noqa: ANN001
    """Validation accuracy after fine-tuning `spec` with the app's defaults, and the seconds it took."""
    from lmstudio_app.core.finetune.job import fine_tune
    from lmstudio_app.core.finetune.settings import FineTuneSettings

    settings = FineTuneSettings(base_model=spec, epochs=epochs, max_length=64, device="cpu", seed=42)
    started = time.perf_counter()
    result = fine_tune(train, val, settings, out)
    return result.metrics["eval_accuracy"], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=str(CROWS))
    parser.add_argument("--text-column", default="sent_more")
    parser.add_argument("--label-column", default="bias_type")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    from scipy.stats import spearmanr

    from lmstudio_app.core.choose.rank import Candidate, ChooseOptions, rank_models
    from lmstudio_app.core.data.labeled import prepare, split
    from lmstudio_app.core.data.table import read_table

    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores, shared)", flush=True)
    started = time.perf_counter()
    data = prepare(read_table(args.csv), args.text_column, args.label_column)
    train, val = split(data, 0.2, 42)
    print(f"{len(train)} training / {len(val)} validation rows, {len(data.label_names)} classes", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        specs = {
            "all-MiniLM-L6-v2": "all-MiniLM-L6-v2",
            "minilm-mlm": "minilm-mlm",
            **make_variants(Path(tmp)),
        }
        candidates = [Candidate(name, spec) for name, spec in specs.items()]
        t = time.perf_counter()
        ranking = rank_models(candidates, train, ChooseOptions(sample_size=args.sample, seed=42))
        choose_s = time.perf_counter() - t
        print(
            f"chooser: {choose_s:.1f} s for {len(candidates)} candidates on {ranking.rows} rows", flush=True
        )
        rows = []
        for r in ranking.models:
            accuracy, seconds = fine_tuned_accuracy(
                specs[r.model], train, val, Path(tmp) / f"run{len(rows)}", args.epochs
            )
            rows.append({**r.to_dict(), "fine_tuned_accuracy": accuracy, "fine_tune_seconds": seconds})
            print(
                f"{r.model:40} LogME {r.score:7.3f}  probe {r.probe_accuracy:.3f}  "
                f"fine-tuned {accuracy:.3f} ({seconds:.0f} s)",
                flush=True,
            )
    accuracies = [row["fine_tuned_accuracy"] for row in rows]
    logme_rho = spearmanr([row["score"] for row in rows], accuracies).statistic
    probe_rho = spearmanr([row["probe_accuracy"] for row in rows], accuracies).statistic
    total = time.perf_counter() - started
    print(
        f"Spearman rho, LogME vs fine-tuned accuracy: {logme_rho:.2f}; probe vs fine-tuned: {probe_rho:.2f}"
    )
    print(f"total {total / 60:.1f} min; load average at the end: {os.getloadavg()[0]:.1f}")
    if args.json:
        summary = {
            "models": rows,
            "spearman_logme": logme_rho,
            "spearman_probe": probe_rho,
            "chooser_seconds": choose_s,
        }
        Path(args.json).write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
