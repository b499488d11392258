"""`lmstudio-app explain` and `embed-map` run as real subprocesses on tiny real models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtGui import QImage

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "lmstudio_app", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_explain_classifier_json(tiny_model):
    model = str(tiny_model("classifier"))
    done = _cli("explain", "-m", model, "--label", "label_1", "--steps", "16", "--json", "the cats walking")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) >= {"model", "predicted", "label", "method", "tokens", "words", "delta"}
    assert data["label"] == "label_1" and data["method"] == "ig"
    assert data["predicted"]["label"] in ("label_0", "label_1") and 0.5 <= data["predicted"]["score"] <= 1
    assert [t["token"] for t in data["tokens"]] == ["[CLS]", "the", "cat", "##s", "walk", "##ing", "[SEP]"]
    assert [w["word"] for w in data["words"]] == ["the", "cats", "walking"]
    total = sum(t["score"] for t in data["tokens"])
    assert abs(total - (data["output"] - data["baseline_output"])) <= abs(data["delta"]) + 1e-5
    assert data["layer"] == "bert.embeddings output (after LayerNorm)"


def test_explain_masked_lm_contrast_text_output(tiny_model):
    model = str(tiny_model("mlm"))
    done = _cli(
        "explain", "-m", model, "--method", "gradxinput", "--candidate", "mat", "--versus", "floor",
        "the cat sat on the [MASK]",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "Gradient x input for 'mat vs floor' at the bert.embeddings output (after LayerNorm)" in lines[1]
    assert [line.split()[-1] for line in lines[2:]] == ["the", "cat", "sat", "on", "the", "[MASK]"]


@pytest.mark.parametrize(
    ("kind", "args", "message"),
    [
        ("encoder", ["the cat"], "has no classification head"),
        ("mlm", ["--candidate", "mat", "the cat sat"], "has no mask"),
        ("classifier", ["--label", "happy", "the cat"], "Unknown label 'happy'"),
    ],
)
def test_explain_errors_exit_2_with_one_line(tiny_model, kind, args, message):
    done = _cli("explain", "-m", str(tiny_model(kind)), *args)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in done.stderr


def test_explain_next_token_json(tiny_decoder):
    """A causal LM's predicted next token, at its first block's input, as the core computes it."""
    from lmstudio_app.core.explain.attribution import ExplainOptions, explain
    from lmstudio_app.core.models.registry import ModelRegistry

    model, prompt = str(tiny_decoder("gpt2")), "the old man opened the door"
    done = _cli("explain", "-m", model, "--method", "gradxinput", "--json", prompt)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    expected = explain(ModelRegistry().load(model), prompt, ExplainOptions(method="gradxinput"))
    assert data["layer"] == "transformer.h.0 input (from wte + wpe)"
    assert data["target"]["token"] == data["predicted"]["label"] == data["label"] == expected.target
    assert data["target"]["id"] == expected.details["target"]["id"]
    assert [t["token"] for t in data["tokens"]] == ["<s>", *prompt.split()]
    assert [t["score"] for t in data["tokens"]] == pytest.approx(expected.token_scores.tolist(), abs=1e-6)
    assert data["output"] == pytest.approx(expected.output, abs=1e-6)


def test_explain_next_token_contrast_text_output(tiny_decoder):
    model = str(tiny_decoder("bert-clm"))
    done = _cli("explain", "-m", model, "--steps", "8", "--target", "ran", "--versus", "sat", "the dog")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{Path(model).name}: predicted next token ")
    assert "Integrated Gradients for 'ran vs sat' at the bert.embeddings output (after LayerNorm)" in lines[1]
    assert [line.split()[-1] for line in lines[3:]] == ["the", "dog"]


@pytest.mark.parametrize(
    ("kind", "args", "message"),
    [
        ("gpt2", ["--candidate", "cat", "the dog"], "name it with --target TOKEN"),
        ("gpt2", ["--target", "xylophone", "the dog"], "is not one token"),
        ("t5", ["--method", "rollout", "the dog"], "rollout cannot explain it yet"),
    ],
)
def test_explain_next_token_errors_exit_2_with_one_line(tiny_decoder, kind, args, message):
    done = _cli("explain", "-m", str(tiny_decoder(kind)), *args)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in done.stderr


def test_explain_target_on_a_masked_lm_exits_2(tiny_model):
    done = _cli("explain", "-m", str(tiny_model("mlm")), "--target", "cat", "the [MASK] sat")
    assert done.returncode == 2 and "--target is for causal LMs" in done.stderr


def test_embed_map_csv_and_png(tiny_model, tmp_path):
    table = tmp_path / "rows.csv"
    texts = ["the cat sat", "a dog ran", "the sun", "she drank tea", "he ate food", "the old car"]
    table.write_text("text,label\n" + "\n".join(f"{t},{i % 2}" for i, t in enumerate(texts)) + "\n")
    model = str(tiny_model("classifier"))
    out = tmp_path / "map.csv"
    done = _cli(
        "embed-map",
        "-m",
        model,
        "--csv",
        str(table),
        "--text-column",
        "text",
        "--label-column",
        "label",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns[:4]) == ["x", "y", "label", "text"] and frame["text"].tolist() == texts
    assert frame["label"].tolist() == [0, 1, 0, 1, 0, 1] and "predicted" in frame.columns
    png = tmp_path / "map.png"
    done = _cli(
        "embed-map",
        "-m",
        model,
        "--csv",
        str(table),
        "--text-column",
        "text",
        "--size",
        "640x480",
        "-o",
        str(png),
    )
    assert done.returncode == 0, done.stderr
    image = QImage(str(png))
    assert (image.width(), image.height()) == (640, 480)
    done = _cli("embed-map", "-m", model, "--csv", str(table), "--text-column", "review", "-o", str(out))
    assert done.returncode == 2 and "no column 'review'" in done.stderr
