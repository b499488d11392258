"""`finetune --multi-label` and `predict` on a multi-label folder, as real processes: a tiny BERT trained a
few steps on the rule of tests/multilabel_helpers.py, its files, predict --json and a batch table (the labels
shown are those whose score reaches the folder's threshold), and the one-line refusals (exit 2) where a
folder of one task meets another task's options."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from multilabel_helpers import LABELS, QUICK, rule_table
from processes import cli_env, run_cli

from lmstudio_app.cli import main


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return cli_env(tmp_path_factory.mktemp("cli_home"))


def quick_options() -> list[str]:
    flags = {"batch_size": "--batch-size", "learning_rate": "--lr", "warmup_ratio": "--warmup-ratio"}
    flags |= {"max_length": "--max-length", "patience": "--patience", "max_steps": "--max-steps"}
    flags |= {"seed": "--seed", "precision": "--precision"}
    return [str(a) for key, flag in flags.items() for a in (flag, QUICK[key])]


@pytest.fixture(scope="module")
def model(tmp_path_factory, tiny_model, env):
    folder = tmp_path_factory.mktemp("multilabel")
    data = rule_table(folder / "rule.csv")
    out = folder / "model"
    result = run_cli(
        "finetune", "--csv", data, "--text-column", "text", "--label-column", "labels", "--multi-label",
        "-m", tiny_model("encoder"), "-o", out, "--val-split", "0.25", *quick_options(), env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return out, result


def test_finetune_multi_label_writes_the_model_its_kind_and_metrics(model):
    out, result = model
    assert "labels in a cell: ';' (guessed; --label-separator to choose)" in result.stderr
    assert "150 training rows, 50 validation rows, 2 labels" in result.stderr
    assert "at step 8: loss " in result.stderr and "micro-F1 " in result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["eval_micro_f1"] <= 1 and 0 < metrics["eval_threshold"] < 1
    assert result.stdout.startswith(f"micro-F1 {metrics['eval_micro_f1']:.4f}, macro-F1 ")
    assert "tuned on the validation rows (maximises micro-F1)" in result.stdout
    assert set(metrics["per_label"]) == set(LABELS)
    assert set(metrics["per_label"]["colour"]) == {"precision", "recall", "f1", "support"}
    meta = json.loads((out / "finetune.json").read_text())
    assert (meta["multi_label"], meta["separator"]) == (True, ";")
    assert meta["threshold"] == pytest.approx(metrics["eval_threshold"])


def applying(row: dict, threshold: float) -> list[str]:
    """The labels whose score reaches the threshold, in label order."""
    score = {s["label"]: s["score"] for s in row["labels"]}
    return [lab for lab in LABELS if score[lab] >= threshold]


def test_predict_json_gives_every_labels_score_and_the_predicted_ones(model, env):
    out, _ = model
    threshold = json.loads((out / "finetune.json").read_text())["threshold"]
    result = run_cli("predict", "-m", out, "--json", "a red cat", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"text", "labels", "predicted"} and data["text"] == "a red cat"
    assert sorted(row["label"] for row in data["labels"]) == LABELS
    assert all(set(row) == {"label", "score"} and 0 <= row["score"] <= 1 for row in data["labels"])
    scores = [row["score"] for row in data["labels"]]
    assert scores == sorted(scores, reverse=True) and data["predicted"] == applying(data, threshold)
    two = json.loads(run_cli("predict", "-m", out, "--json", "the mat", "a dog", env=env).stdout)
    assert [row["text"] for row in two] == ["the mat", "a dog"]
    assert all(row["predicted"] == applying(row, threshold) for row in two)
    everything = run_cli("predict", "-m", out, "--json", "--threshold", "0.0001", "the mat", env=env)
    assert sorted(json.loads(everything.stdout)["predicted"]) == LABELS  # a lower threshold, given


def test_batch_predict_writes_joined_labels_and_a_score_per_label(model, env, tmp_path):
    out, _ = model
    given = tmp_path / "new.csv"
    given.write_text("id,text\n1,blue dog\n2,\n3,old house\n", encoding="utf-8")
    written = tmp_path / "predicted.csv"
    low = ["--threshold", "0.0001"]  # every label applies: the joining shows
    result = run_cli(
        "predict", "-m", out, "--csv", given, "--text-column", "text", "-o", written, *low, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"3 rows written to {written}; 1 with an empty text have no labels"
    with written.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "text", "predicted_labels", "score_animal", "score_colour", "note"]
    assert [row["predicted_labels"] for row in rows] == ["animal;colour", "", "animal;colour"]  # as the data
    assert [row["note"] for row in rows] == ["", "empty text", ""]
    assert rows[1]["score_animal"] == "" and 0 < float(rows[0]["score_colour"]) < 1


def one_line_refusal(capsys, argv: list, words: str) -> None:
    """`lmstudio-app ARGV` (in this process: refusals come before any model is loaded) exits 2 with one line."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # a usage error leaves from inside argparse
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2 and out == "", err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (
            ["--conll", "x.conll", "-o", "y.conll"],
            "is a multi-label text classifier: it takes texts or --csv",
        ),
        (["--question", "Who?", "--context", "Me."], "not a question (a question-answering model's input)"),
        (["--csv", "x.csv", "hello"], "Give either texts or --csv, not both."),
        (["hello", "-o", "x.csv"], "-o goes with --csv"),
        (["--threshold", "1.5", "hello"], "1.5 is out of range"),
    ],
)
def test_a_multi_label_folder_refuses_other_tasks_inputs(model, capsys, options, words):
    out, _ = model
    one_line_refusal(capsys, ["predict", "-m", out, *options], words)


def test_a_single_label_folder_refuses_a_threshold(model, capsys, tmp_path):
    out, _ = model
    single = tmp_path / "single"
    shutil.copytree(out, single)
    meta = json.loads((single / "finetune.json").read_text())
    (single / "finetune.json").write_text(json.dumps({**meta, "multi_label": False}), encoding="utf-8")
    one_line_refusal(
        capsys,
        ["predict", "-m", single, "--threshold", "0.5", "hello"],
        "is a single-label classifier (one label per text): a threshold and several labels per text are",
    )


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--task", "tokens", "--data", "x.conll", "--multi-label"], "--multi-label go with --task labels"),
        (
            ["--csv", "x.csv", "--label-separator", ";"],
            "--label-separator and --threshold go with --multi-label",
        ),
        (
            ["--csv", "x.csv", "--multi-label", "--label-separator", " "],
            "--label-separator needs a character",
        ),
        (["--csv", "x.csv", "--threshold", "0.4"], "go with --multi-label"),
    ],
)
def test_finetune_refuses_multi_label_options_where_they_make_no_sense(capsys, tmp_path, options, words):
    base = ["finetune", "--text-column", "text", "--label-column", "labels", "-o", tmp_path / "o"]
    one_line_refusal(capsys, [*base, *options], words)
    assert not (tmp_path / "o").exists()
