"""`finetune --task qa` and `predict --question/--context` / `--data` as real processes, on a tiny BERT."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest
from processes import cli_env, run_cli

from lmstudio_app import APP_NAME

NOUNS = "cat dog car house book cup".split()
COLOURS = "red blue green big small old".split()


def squad_lines(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        noun, colour = rng.choice(NOUNS), rng.choice(COLOURS)
        context = f"on the mat the {noun} is {colour} on the road"
        start = context.index(f" is {colour}") + 4
        rows.append(
            {
                "id": f"q{i}",
                "question": f"the {noun}",
                "context": context,
                "answers": {"text": [colour], "answer_start": [start]},
            }
        )
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def one_error_line(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{APP_NAME}: error: ") and message in last, last


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return cli_env(tmp_path_factory.mktemp("qa_home"))


@pytest.fixture(scope="module")
def qa_model(tmp_path_factory, tiny_model, env) -> Path:
    """A QA model trained by `finetune --task qa` in its own process (a few steps)."""
    folder = tmp_path_factory.mktemp("qa_cli")
    data = write_jsonl(folder / "train.jsonl", squad_lines(40, 0))
    out = folder / "model"
    args = ["finetune", "--task", "qa", "--data", data, "-m", tiny_model("encoder"), "-o", out]
    args += [
        "--max-steps",
        "4",
        "--batch-size",
        "8",
        "--max-length",
        "48",
        "--stride",
        "8",
        "--patience",
        "0",
    ]
    result = run_cli(*args, "--precision", "fp32", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("exact match ") and f"model saved to {out}" in result.stdout
    assert "training questions (0 unanswerable)" in result.stderr and "split by context" in result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"eval_exact_match", "eval_f1", "eval_loss"} <= set(metrics) and metrics["global_step"] == 4
    assert json.loads((out / "qa.json").read_text())["stride"] == 8
    return out


def test_predict_one_question_as_json(qa_model, env):
    context = "on the mat the dog is red on the road"
    result = run_cli(
        "predict", "-m", qa_model, "--question", "the dog", "--context", context, "--json", env=env
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert {"answer", "start", "end", "score"} <= set(answer)
    assert context[answer["start"] : answer["end"]] == answer["answer"] != ""
    assert 0 < answer["score"] <= 1 and answer["no_answer"] is False
    for alternative in answer["alternatives"]:
        assert context[alternative["start"] : alternative["end"]] == alternative["answer"]
        assert alternative["score"] <= answer["score"]


def test_predict_a_file_writes_one_answer_a_line_and_scores_it(qa_model, env, tmp_path):
    rows = squad_lines(5, 7)
    data = write_jsonl(tmp_path / "dev.jsonl", rows)
    out = tmp_path / "answers.jsonl"
    result = run_cli("predict", "-m", qa_model, "--data", data, "-o", out, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"5 answers written to {out}; exact match ")
    answers = [json.loads(line) for line in out.read_text().splitlines()]
    assert [a["id"] for a in answers] == [r["id"] for r in rows]
    for answer, row in zip(answers, rows, strict=True):
        assert row["context"][answer["start"] : answer["end"]] == answer["answer"]
    exact = sum(a["answer"] == r["answers"]["text"][0] for a, r in zip(answers, rows, strict=True)) / 5
    assert f"exact match {exact:.4f}," in result.stdout  # the answers here are single lower-case words


def test_exit_2_cases(qa_model, env, tmp_path, tiny_model):
    one_error_line(
        run_cli("predict", "-m", tiny_model("classifier"), "--question", "q", "--context", "c", env=env),
        "is not a question-answering model (BertForSequenceClassification): train one with finetune --task qa",
    )
    bad = squad_lines(3, 1)
    bad[1]["answers"] = {"text": ["purple"], "answer_start": [0]}
    data = write_jsonl(tmp_path / "bad.jsonl", bad)
    one_error_line(
        run_cli("predict", "-m", qa_model, "--data", data, "-o", tmp_path / "o.jsonl", env=env),
        "bad.jsonl, line 2: the answer 'purple' is not in its context",
    )
    one_error_line(
        run_cli("finetune", "--task", "qa", "--data", data, "-o", tmp_path / "run", env=env),
        "bad.jsonl, line 2: the answer 'purple' is not in its context",
    )
    assert not (tmp_path / "run").exists()
    missing = tmp_path / "no" / "such" / "folder" / "o.jsonl"
    one_error_line(  # the output path is checked before the (missing) data is read
        run_cli("predict", "-m", qa_model, "--data", tmp_path / "absent.jsonl", "-o", missing, env=env),
        "the folder",
    )
    one_error_line(
        run_cli("predict", "-m", qa_model, "--data", data, "-o", tmp_path / "o.csv", env=env),
        "the name must end in .jsonl",
    )
    one_error_line(run_cli("predict", "-m", qa_model, "a text", env=env), "not texts or --csv")
