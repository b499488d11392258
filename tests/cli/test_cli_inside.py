"""`lmstudio-app inside ...` run as a real subprocess: JSON and text outputs, files, and exit 2 on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "lmstudio_app", "inside", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def pretraining(tiny_model) -> str:
    return str(tiny_model("pretraining"))


def test_steps_json(pretraining):
    out = _run(
        "steps", "-m", pretraining, "--layer", "1", "--head", "1", "--token", "2", "--json", "the cat sat"
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["tokens"] == ["[CLS]", "the", "cat", "sat", "[SEP]"]
    assert (data["layer"], data["head"], data["token"]) == (1, 1, 2)
    assert data["shapes"]["W^Q"] == [32, 32] and len(data["scores"]) == 5
    assert abs(sum(data["weights"]) - 1) < 1e-5 and data["max_error"] < 1e-4


def test_lens_json(pretraining):
    out = _run("lens", "-m", pretraining, "-k", "3", "--json", "the cat sat on the [MASK]")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [row["layer"] for row in data["layers"]] == ["embeddings", "layer 0", "layer 1"]
    assert [w["rank"] for w in data["layers"][-1]["words"]] == [1, 2, 3]
    assert data["tokens"][data["position"]] == "[MASK]"


def test_objectives_json_with_pair(pretraining):
    out = _run(
        "objectives", "-m", pretraining, "--pair", "a dog ran", "--alpha", "0.5", "--beta", "2", "--seed", "4",
        "--json", "the cat sat on the mat and the dog ran to the door",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["seed"] == 4 and data["masked"] and data["l_nsp"] is not None
    assert data["loss"] == pytest.approx(0.5 * data["l_mlm"] + 2 * data["l_nsp"])


def test_positions_png_and_json(pretraining, tmp_path):
    png, js = tmp_path / "pos.png", tmp_path / "pos.json"
    assert _run("positions", "-m", pretraining, "-n", "30", "-o", str(js)).returncode == 0
    data = json.loads(js.read_text(encoding="utf-8"))
    assert len(data["learned"]["cosine"]) == len(data["fixed"]["cosine"]) == 30
    out = _run("positions", "-m", pretraining, "-n", "30", "-o", str(png))
    assert out.returncode == 0, out.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert "wrote" in out.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["lens", "the cat sat"], "No mask in the text"),
        (["steps", "--layer", "5", "the cat"], "There is no layer 5: choose a layer from 0 to 1."),
        (["positions", "-o", "{tmp}/pos.txt"], "must end in .png or .json"),
        (["objectives", "--alpha", "-1", "the cat sat"], "--alpha: -1 is out of range"),
    ],
)
def test_bad_input_exits_2_with_one_line(pretraining, tmp_path, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    out = _run(argv[0], "-m", pretraining, *argv[1:])
    assert out.returncode == 2, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("lmstudio-app: error: ") and message in last
    assert "Traceback" not in out.stderr


def test_lens_on_an_encoder_says_what_it_needs(tiny_model):
    out = _run("lens", "-m", str(tiny_model("encoder")), "the [MASK] sat")
    assert out.returncode == 2 and "has no masked-LM head, which the layer lens needs" in out.stderr


def test_lens_on_a_causal_lm_follows_the_next_token(tiny_decoder):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tiny_decoder("gpt2")
    out = _run("lens", "-m", str(folder), "-k", "3", "--json", "the cat sat on the")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["follows"] == "next token" and data["tokens"] == ["<s>", "the", "cat", "sat", "on", "the"]
    assert data["position"] == 5 and [row["layer"] for row in data["layers"]] == [
        "embeddings",
        "layer 0",
        "layer 1",
    ]
    tokenizer, model = AutoTokenizer.from_pretrained(folder), AutoModelForCausalLM.from_pretrained(folder)
    ids = [2, *tokenizer("the cat sat on the", add_special_tokens=False)["input_ids"]]
    with torch.no_grad():
        top = model(torch.tensor([ids])).logits[0, -1].softmax(-1).topk(3)
    last = data["layers"][-1]["words"]
    assert (
        [w["token"] for w in last] == data["words"] == tokenizer.convert_ids_to_tokens(top.indices.tolist())
    )
    assert [w["score"] for w in last] == pytest.approx(top.values.tolist(), abs=1e-6)
    assert [w["rank"] for w in last] == [1, 2, 3]
    text = _run("lens", "-m", str(folder), "the cat sat")
    assert text.returncode == 0 and "next token after token 3" in text.stdout


def test_masked_steps_and_cross_steps_json(tiny_decoder):
    out = _run(
        "steps", "-m", str(tiny_decoder("gpt2")), "--layer", "1", "--token", "2", "--json", "the cat sat"
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["form"]["kind"] == "masked" and data["form"]["layout"] == "GPT-2"
    assert data["scores"][3] is None and data["weights"][3] == 0  # the key after the query: -inf, weight 0
    assert [[v is None for v in row] for row in data["score_map"]] == [
        [c > r for c in range(4)] for r in range(4)
    ]
    assert data["max_error"] < 1e-5
    out = _run(
        "steps", "-m", str(tiny_decoder("bart")), "--target", "a dog", "--token", "1", "--json", "the cat sat"
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["form"]["kind"] == "cross" and data["key_tokens"] == ["<s>", "the", "cat", "sat", "</s>"]
    assert data["tokens"][1] == "a" and len(data["weights"]) == 5 and data["max_error"] < 1e-5
    text = _run("steps", "-m", str(tiny_decoder("gpt2")), "--token", "1", "the cat sat")
    assert (
        text.returncode == 0 and "(masked: after the query)" in text.stdout and "LayerNorm2(Z)" in text.stdout
    )


def test_decoders_in_encoder_views_exit_2_with_one_line(tiny_decoder):
    out = _run("objectives", "-m", str(tiny_decoder("gpt2")), "the cat sat")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "is a causal LM; this view follows an encoder" in out.stderr.strip().splitlines()[-1]
    out = _run("lens", "-m", str(tiny_decoder("t5")), "the cat sat")
    assert out.returncode == 2 and "is an encoder-decoder; the layer lens follows" in out.stderr
