"""`lmstudio-app score` and `lmstudio-app bias` as real processes: JSON shapes, and exit code 2 with one line.

Runs on the tiny random masked LM, so each process costs little more than its imports; the numbers
themselves are checked against direct computations in tests/core/test_score_*.py.
"""

from __future__ import annotations

import json
import math
import subprocess

import pytest
from processes import cli_env, run_cli

from lmstudio_app import APP_NAME
from lmstudio_app.cli import main


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return cli_env(tmp_path_factory.mktemp("cli_home"))


@pytest.fixture(scope="module")
def mlm(tiny_model) -> str:
    return str(tiny_model("mlm"))


def _json(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_score_json(env, mlm) -> None:
    data = _json(run_cli("score", "-m", mlm, "-k", "2", "--json", "the cat sat.", "a dog ran.", env=env))
    assert set(data) == {"model", "method", "sentences"} and data["method"] == "pll"
    assert [s["text"] for s in data["sentences"]] == ["the cat sat.", "a dog ran."]
    first = data["sentences"][0]
    assert [t["token"] for t in first["tokens"]] == ["the", "cat", "sat", "."]
    assert first["log_prob"] == pytest.approx(sum(t["log_prob"] for t in first["tokens"]))
    assert all(len(t["top"]) == 2 and t["rank"] >= 1 for t in first["tokens"])


def test_score_pairs_json(env, mlm, tmp_path) -> None:
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("the cat sat.\tthe cat sit.\nthe dogs ran.\tthe dogs runs.\n", encoding="utf-8")
    data = _json(run_cli("score", "-m", mlm, "--pairs", pairs, "--json", env=env))
    assert set(data) == {"model", "method", "pairs", "preferred_first", "accuracy", "rows"}
    assert data["pairs"] == 2 and data["accuracy"] == data["preferred_first"] / 2
    assert [r["preferred_first"] for r in data["rows"]] == [r["margin"] > 0 for r in data["rows"]]


def test_bias_crows_pairs_json(env, mlm) -> None:
    data = _json(run_cli("bias", "-m", mlm, "--crows-pairs", "--limit", "20", "--json", env=env))
    assert set(data) == {"model", "metric", "pairs", "by_type", "rows"} and data["pairs"] == 20
    assert data["metric"] == pytest.approx(100 * sum(r["stereotyped"] for r in data["rows"]) / 20)
    assert sum(t["pairs"] for t in data["by_type"].values()) == 20


def test_bias_template_json(env, mlm) -> None:
    data = _json(
        run_cli(
            "bias", "-m", mlm, "--template", "[MASK] drank tea.", "--targets", "he,she", "--json", env=env
        )
    )
    assert data["attribute"] == "tea" and [t["target"] for t in data["targets"]] == ["he", "she"]
    for t in data["targets"]:
        assert t["log_ratio"] == pytest.approx(math.log(t["prob"] / t["prior"]), abs=1e-6)


def test_a_bad_pairs_file_is_exit_2_before_any_model_loads(env, tmp_path) -> None:
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("the cat sat.\tthe cat sit.\njust one column\n", encoding="utf-8")
    result = run_cli("score", "--pairs", pairs, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        result.stderr
        == f"{APP_NAME}: error: pairs.tsv line 2 does not have two columns (acceptable<TAB>unacceptable): 'just one column'\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["score", ""], "Sentence 1 is empty"),
        (["score", "-m", "ENCODER", "the cat sat."], "has no language-model head"),
        (["bias", "-m", "MLM", "--template", "[MASK] sat on the [MASK].", "--targets", "he"], "exactly one"),
        (
            ["bias", "-m", "MLM", "--template", "[MASK] sat on the mat.", "--targets", "he,☃"],
            "Unknown target word",
        ),
        (["bias", "-m", "MLM", "--template", "[MASK] sat on the mat."], "--targets"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(capsys, tiny_model, args: list[str], message: str) -> None:
    swap = {"ENCODER": str(tiny_model("encoder")), "MLM": str(tiny_model("mlm"))}
    assert main([swap.get(a, a) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"{APP_NAME}: error:") and message in err


def test_sentences_from_a_file_as_a_table(capsys, mlm, tmp_path) -> None:
    text = tmp_path / "sentences.txt"
    text.write_text("the cat sat.\n\na dog ran.\n", encoding="utf-8")
    assert main(["score", "-m", mlm, "-k", "1", "--file", str(text)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0] == "the cat sat."
        and "pseudo-perplexity" in out[1]
        and out[2].split()[:4] == ["token", "log-prob", "bits", "rank"]
    )
    assert [line.split()[0] for line in out[3:7]] == ["the", "cat", "sat", "."] and out[7] == "a dog ran."


def test_score_with_the_embedded_decoder_and_an_encoder_decoder(env, tiny_decoder) -> None:
    """Causal LMs (the embedded minilm-clm) score with the chain rule; an encoder-decoder scores each
    sentence given --source."""
    data = _json(run_cli("score", "-m", "minilm-clm", "--json", "the cat sat on the mat.", env=env))
    assert data["method"] == "chain" and data["model"].startswith("minilm-clm")
    tokens = data["sentences"][0]["tokens"]
    assert [t["token"] for t in tokens] == ["the", "cat", "sat", "on", "the", "mat", "."]  # [CLS] is context
    t5 = str(tiny_decoder("t5"))
    given = _json(run_cli("score", "-m", t5, "--source", "the dog ran", "--json", "the cat sat", env=env))
    other = _json(run_cli("score", "-m", t5, "--source", "a bird flew", "--json", "the cat sat", env=env))
    assert given["method"] == "conditional"
    assert given["sentences"][0]["log_prob"] != other["sentences"][0]["log_prob"]
