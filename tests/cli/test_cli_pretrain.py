"""`lmstudio-app pretrain` as a real subprocess: exit codes, output, metrics.json, refusals in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pretrain_helpers import write_corpus

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "lmstudio_app", "pretrain", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


def test_pretrain_with_nsp_writes_a_model_and_before_after_metrics(tmp_path, tiny_model):
    corpus = write_corpus(tmp_path / "c.txt", 200)
    proc = cli(
        *("--text", str(corpus), "-m", str(tiny_model("encoder")), "-o", "out", "--nsp"),
        *("--alpha", "1", "--beta", "0.5", "--max-steps", "6", "--lr", "5e-3", "--batch-size", "16"),
        *("--max-length", "64", "--precision", "fp32", "--probe", "The cat sat on the [MASK]."),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "a new one is added, its decoder tied to the word embeddings" in proc.stderr
    assert "loss = 1·MLM + 0.5·NSP" in proc.stderr
    assert "The cat sat on the [MASK]. ->" in proc.stderr
    assert "held-out before:" in proc.stdout and "model saved to out" in proc.stdout
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    for key in ("eval_mlm_top1", "eval_mlm_top5", "eval_perplexity", "eval_nsp_accuracy"):
        assert key in metrics and key in metrics["before"], key
    assert metrics["eval_perplexity"] < metrics["before"]["eval_perplexity"]
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["architectures"] == ["BertForPreTraining"]
    assert (tmp_path / "out" / "tokenizer.json").is_file()


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("empty", ["--text", "empty.txt"], "has no text"),
        ("binary", ["--text", "x.txt"], "PNG image"),
        ("binaries", ["--text", "bin"], "bin has no text files: 1 file, none of them text (x.png)"),
        ("gpt", ["--text", "c.txt", "-m", "gpt"], "no masked-LM head and no encoder"),
        ("distil", ["--text", "c.txt", "-m", "distil", "--nsp"], "cannot have a next-sentence head"),
        ("", ["--csv", "c.txt"], "--csv needs --text-column"),
        ("", ["--text", "c.txt", "--mlm-probability", "1.5"], "--mlm-probability: 1.5 is out of range"),
    ],
)
def test_bad_text_or_model_is_exit_2_with_one_line(tmp_path, setup, args, message):
    write_corpus(tmp_path / "c.txt", 40)
    if setup == "empty":
        (tmp_path / "empty.txt").write_text("  \n")
    elif setup == "binary":
        (tmp_path / "x.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    elif setup == "binaries":
        (tmp_path / "bin").mkdir()
        (tmp_path / "bin" / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    elif setup == "gpt":  # a real (tiny) GPT-2: a left-to-right LM, no masked-LM head, no BERT encoder
        from transformers import GPT2Config, GPT2LMHeadModel

        GPT2LMHeadModel(
            GPT2Config(vocab_size=50, n_positions=64, n_embd=32, n_layer=1, n_head=2)
        ).save_pretrained(tmp_path / "gpt")
        (tmp_path / "gpt" / "vocab.json").write_text(json.dumps({chr(97 + i): i for i in range(26)}))
        (tmp_path / "gpt" / "merges.txt").write_text("#version: 0.2\n")
    elif setup == "distil":
        from tiny_models import vocab
        from transformers import DistilBertConfig, DistilBertModel

        config = DistilBertConfig(vocab_size=len(vocab()), dim=32, n_layers=1, n_heads=2, hidden_dim=64)
        DistilBertModel(config).save_pretrained(tmp_path / "distil")
        (tmp_path / "distil" / "vocab.txt").write_text("\n".join(vocab()) + "\n")
    proc = cli(*args, "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(lines) == 1 and message in lines[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
