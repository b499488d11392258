"""Jobs that train an encoder's head refuse a decoder as their base in one line, before any training:
a classifier or tagger built on BERT-as-a-decoder kept its causal attention without a word."""

from __future__ import annotations

import json

import pytest
from processes import cli_env, run_cli


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return cli_env(tmp_path_factory.mktemp("decoder_bases_home"))


def _data(tmp_path, kind: str) -> list[str]:
    if kind == "labels":
        path = tmp_path / "t.csv"
        path.write_text("text,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n" for i in range(8)))
        return ["--csv", str(path), "--text-column", "text", "--label-column", "label"]
    if kind == "tokens":
        path = tmp_path / "t.conll"
        path.write_text("".join("Paris\tB-LOC\nis\tO\nnice\tO\n\n" for _ in range(10)))
        return ["--task", "tokens", "--data", str(path)]
    path = tmp_path / "q.jsonl"
    row = {"id": "1", "question": "what colour is the sky?", "context": "the sky is blue today.",
           "answers": {"text": ["blue"], "answer_start": [11]}}  # fmt: skip
    path.write_text("".join(json.dumps({**row, "id": str(i)}) + "\n" for i in range(10)))
    return ["--task", "qa", "--data", str(path)]


@pytest.mark.parametrize("kind", ["labels", "tokens", "qa"])
@pytest.mark.parametrize("base", ["minilm-clm", "t5"])
def test_finetune_on_a_decoder_is_one_line(env, tmp_path, tiny_decoder, kind: str, base: str) -> None:
    model = base if base == "minilm-clm" else str(tiny_decoder("t5"))
    result = run_cli("finetune", *_data(tmp_path, kind), "-m", model, "-o", str(tmp_path / "run"), env=env)
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert ("is a causal LM" if base == "minilm-clm" else "is an encoder-decoder") in last
    assert "starts from an encoder or a masked LM" in last and "Traceback" not in result.stderr


def test_pretrain_on_a_decoder_is_one_line(env, tmp_path) -> None:
    text = tmp_path / "c.txt"
    text.write_text(
        "".join(f"the cat number {i} sat on the mat and looked at the door.\n" for i in range(50))
    )
    result = run_cli(
        "pretrain", "--text", str(text), "-m", "minilm-clm", "-o", str(tmp_path / "run"), env=env
    )
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0, result.stderr[-2000:]
    assert "minilm-clm is a causal LM (text generation); pre-training starts from" in result.stderr
