"""`lmstudio-app choose` as a user runs it: the JSON's shape and order, and one-line refusals (exit 2)."""

from __future__ import annotations

import json

import pytest
from processes import cli_env, run_cli

GOOD = "wonderful great brilliant moving lovely superb charming delightful".split()
BAD = "boring awful dull terrible tedious clumsy lifeless bland".split()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return cli_env(tmp_path_factory.mktemp("choose_home"))


@pytest.fixture(scope="module")
def reviews(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("choose_data") / "reviews.csv"
    rows = [
        f"the film was {(GOOD if i % 2 else BAD)[(i // 2) % 8]}.,{'pos' if i % 2 else 'neg'}"
        for i in range(40)
    ]
    path.write_text("review,sentiment\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _choose(reviews, env, *args: str):
    columns = ["--csv", str(reviews), "--text-column", "review", "--label-column", "sentiment"]
    return run_cli("choose", *columns, *args, env=env)


def test_json_ranks_best_first(env, reviews, tiny_model) -> None:
    tiny = str(tiny_model("encoder"))
    result = _choose(reviews, env, "-m", tiny, "-m", "all-MiniLM-L6-v2", "--sample", "30", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert set(out) == {"models", "rows"} and out["rows"] == 30
    models = out["models"]
    assert [m["model"] for m in models] == ["all-MiniLM-L6-v2", tiny]
    assert models[0]["score"] > models[1]["score"]
    for m in models:
        assert set(m) == {"model", "score", "probe_accuracy", "parameters", "memory_bytes", "seconds"}
        assert 0 <= m["probe_accuracy"] <= 1 and m["seconds"] > 0
        assert m["memory_bytes"]["float32"] == 4 * m["parameters"] == 2 * m["memory_bytes"]["bfloat16"]
    assert models[0]["parameters"] > 20_000_000 > models[1]["parameters"]  # MiniLM against a tiny BERT


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["-m", "all-MiniLM-L6-v2", "--label-column", "stars"],
            "The label column 'stars' is not in reviews.csv",
        ),
        (
            ["-m", "minilm-clm"],
            "minilm-clm is a causal LM (text generation); fine-tuning starts from an encoder",
        ),
        (["-m", "./no/such/model"], "Folder not found: ./no/such/model"),
        (["-m", "all-MiniLM-L6-v2", "--sample", "3"], "argument --sample: 3 is out of range"),
    ],
)
def test_refusals_are_one_line(env, reviews, args: list[str], words: str) -> None:
    result = _choose(reviews, env, *args)
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("lmstudio-app: error: ") and words in last, last
    assert "Traceback" not in result.stderr and result.stdout == ""
