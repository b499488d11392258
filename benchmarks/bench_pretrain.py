"""Tokens per second: `lmstudio-app pretrain` (the engine's pre-training job) against a plain script with
transformers' Trainer and DataCollatorForLanguageModeling, same model, text, batch, length and precision.

The plain script does what a tutorial does: one example per line, truncated to the max length, dynamically
padded; the model's own forward computes the vocabulary-sized head over every position. Ours packs
consecutive sentences into full sequences and runs the head on the masked positions only. Both count the
real (non-padding) tokens they trained on.

    python benchmarks/bench_pretrain.py [--steps 20] [--batch-size 16] [--max-length 128] [--precision auto]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "core"))


def plain_trainer(text: Path, model: Path, args: argparse.Namespace, precision: str, out: Path) -> float:
    import transformers
    from transformers import AutoModelForMaskedLM, AutoTokenizer, DataCollatorForLanguageModeling, Trainer

    tokenizer = AutoTokenizer.from_pretrained(model)
    lines = [ln for ln in text.read_text(encoding="utf-8").splitlines() if ln.strip()]
    data = [
        {"input_ids": ids}
        for ids in tokenizer(lines, truncation=True, max_length=args.max_length)["input_ids"]
    ]
    transformers.set_seed(0)
    mlm = AutoModelForMaskedLM.from_pretrained(model)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, pad_to_multiple_of=8)
    tokens = {"n": 0}

    def counting(examples: list[dict]) -> dict:
        tokens["n"] += sum(len(e["input_ids"]) for e in examples)
        return collator(examples)

    trainer = Trainer(
        model=mlm,
        args=transformers.TrainingArguments(
            output_dir=str(out),
            max_steps=args.steps,
            per_device_train_batch_size=args.batch_size,
            learning_rate=1e-4,
            bf16=precision == "bf16",
            use_cpu=True,
            report_to="none",
            save_strategy="no",
            logging_strategy="no",
            disable_tqdm=True,
            dataloader_pin_memory=False,
        ),
        train_dataset=data,
        data_collator=counting,
    )
    start = time.perf_counter()
    trainer.train()
    return tokens["n"] / (time.perf_counter() - start)


def ours(text: Path, model: Path, args: argparse.Namespace, precision: str, out: Path) -> float:
    from lmstudio_app.core.pretrain.corpus import TextSource, build_corpus
    from lmstudio_app.core.pretrain.job import pretrain
    from lmstudio_app.core.pretrain.settings import PretrainSettings

    settings = PretrainSettings(
        base_model=str(model),
        max_steps=args.steps,
        eval_steps=10 * args.steps,
        batch_size=args.batch_size,
        max_length=args.max_length,
        precision=precision,
        learning_rate=1e-4,
    )
    source = TextSource(paths=[str(text)])
    corpus = build_corpus(source, 0.02, settings.seed)
    result = pretrain(corpus, source, settings, out)  # train_runtime_s: Trainer.train() alone, as below
    tokens_per_step = result.metrics["train_tokens"] / result.metrics["train_sequences"] * args.batch_size
    return tokens_per_step * result.metrics["last_step"] / result.metrics["train_runtime_s"]


def main() -> None:
    from pretrain_helpers import manual_lines

    from lmstudio_app.core.models.precision import resolve_precision
    from lmstudio_app.core.models.sources import find_embedded

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()
    precision = resolve_precision(args.precision, "cpu")
    model = find_embedded("minilm-mlm").path
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "manual.txt"
        text.write_text("\n".join(manual_lines()), encoding="utf-8")
        plain = plain_trainer(text, model, args, precision, Path(tmp) / "plain")
        mine = ours(text, model, args, precision, Path(tmp) / "ours")
    print(f"minilm-mlm, batch {args.batch_size} x {args.max_length}, {args.steps} steps, {precision} on CPU")
    print(f"plain Trainer + DataCollatorForLanguageModeling: {plain:,.0f} tokens/s")
    print(f"lmstudio-app pretrain (packing, masked-only head): {mine:,.0f} tokens/s  ({mine / plain:.2f}x)")


if __name__ == "__main__":
    main()
