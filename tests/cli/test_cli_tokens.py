"""`finetune --task tokens` and `predict --conll / --json` on a word tagger, as real processes: a tiny
BERT trained for a few steps, its files, and the one-line refusals (exit 2)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from processes import cli_env, run_cli
from tagging_helpers import rule_sentence


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return cli_env(tmp_path_factory.mktemp("cli_home"))


def conll_file(path: Path, sentences: int, extra_column: bool = False) -> tuple[Path, list[list[str]]]:
    rng = random.Random(2)
    blocks, words = ["-DOCSTART-\tO\n"], []
    for _ in range(sentences):
        w, t = rule_sentence(rng, rng.randint(3, 9))
        words.append(w)
        blocks.append(
            "".join(f"{a}\tX\t{b}\n" if extra_column else f"{a}\t{b}\n" for a, b in zip(w, t, strict=True))
        )
    path.write_text("\n".join(blocks) + "\n", encoding="utf-8")
    return path, words


@pytest.fixture(scope="module")
def tagger(tmp_path_factory, tiny_model, env):
    folder = tmp_path_factory.mktemp("tagger")
    data, _ = conll_file(folder / "train.conll", 160)
    out = folder / "model"
    result = run_cli(
        "finetune", "--task", "tokens", "--data", data, "-m", tiny_model("encoder"), "-o", out,
        "--max-steps", "30", "--batch-size", "16", "--lr", "5e-3", "--max-length", "32", "--patience", "0",
        "--precision", "fp32", "--val-split", "0.25", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return out, result


def test_finetune_tokens_writes_a_tagger_and_its_metrics(tagger):
    out, result = tagger
    assert "120 training sentences, 40 validation sentences, 4 tags: O, B-ANI, B-LOC, I-LOC" in result.stderr
    assert "final evaluation of the saved model at step 30" in result.stderr and "entity F1" in result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert result.stdout.startswith(f"token accuracy {metrics['eval_token_accuracy']:.4f}, entity F1 ")
    assert metrics["eval_token_accuracy"] > 0.9 and metrics["eval_f1"] > 0.8
    assert json.loads((out / "tokens.json").read_text())["tags"] == ["O", "B-ANI", "B-LOC", "I-LOC"]
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertForTokenClassification"]


def test_predict_conll_keeps_tokens_and_sentence_boundaries(tagger, tmp_path, env):
    out, _ = tagger
    given, words = conll_file(tmp_path / "new.conll", 5, extra_column=True)
    written = tmp_path / "tagged.conll"
    result = run_cli("predict", "-m", out, "--conll", given, "-o", written, env=env)
    assert result.returncode == 0, result.stderr
    n = sum(map(len, words))
    assert result.stdout.strip() == f"{n} tokens in 5 sentences tagged into {written}"
    blocks = written.read_text(encoding="utf-8").split("\n\n")
    assert blocks[-1] == "" and len(blocks) == 6
    rows = [[line.split("\t") for line in block.splitlines()] for block in blocks[:-1]]
    assert [[r[0] for r in block] for block in rows] == words
    assert all(len(r) == 2 and r[1] in ("O", "B-ANI", "B-LOC", "I-LOC") for block in rows for r in block)


def test_predict_json_on_a_tagger(tagger, env):
    out, _ = tagger
    result = run_cli("predict", "-m", out, "--json", "The dogs sat in London", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [t["word"] for t in data["tokens"]] == ["The", "dogs", "sat", "in", "London"]
    assert set(data["tokens"][0]) == {"word", "tag", "score"}
    assert [(e["text"], e["label"], e["start"], e["end"]) for e in data["entities"]] == [
        ("dogs", "ANI", 4, 8), ("London", "LOC", 16, 22),
    ]  # fmt: skip


def test_wrong_task_and_bad_input_exit_2_with_one_line(tagger, tiny_model, tmp_path, env):
    out, _ = tagger
    given, _ = conll_file(tmp_path / "in.conll", 2)
    table = tmp_path / "t.csv"
    table.write_text("text\nhello\n", encoding="utf-8")
    ragged = tmp_path / "ragged.conll"
    ragged.write_text("EU\tB-ORG\nrejects\tO\tx\n", encoding="utf-8")
    cases = [
        (("predict", "-m", tiny_model("classifier"), "--conll", given, "-o", tmp_path / "a.conll"),
         "is not a word tagger (BertForSequenceClassification)"),
        (("predict", "-m", out, "--csv", table, "--text-column", "text", "-o", tmp_path / "b.csv"),
         "is a word tagger (a tag per word), not a text classifier"),
        (("predict", "-m", out, "--conll", given, "-o", tmp_path / "nowhere" / "c.conll"), "does not exist"),
        (("finetune", "--task", "tokens", "--data", ragged, "-o", tmp_path / "r"),
         "ragged.conll line 2: 3 columns where line 1 has 2 columns"),
        (("finetune", "--task", "tokens", "--csv", table, "-o", tmp_path / "s"), "reads --data FILE"),
    ]  # fmt: skip
    for args, message in cases:
        result = run_cli(*args, env=env)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())
