"""The shipped embedded causal LM (resources/models/minilm-clm) is a real, working decoder, offline.

Why: Generate and the chain-rule score use it by default on a fresh install; a broken export (wrong
architecture, bidirectional attention, no end token, untied head) would only show as nonsense text, so the
weights are checked here, in a fresh offline process as a user starts them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = REPO / "resources" / "models" / "minilm-clm"

_SCRIPT = r"""
import json, sys
import torch
from lmstudio_app.core.generate.settings import GenerateSettings
from lmstudio_app.core.generate.stream import generate
from lmstudio_app.core.models.family import family_of
from lmstudio_app.core.models.registry import ModelRegistry
from lmstudio_app.core.score.pairs import example_pairs_path, read_pairs, score_pairs
torch.set_num_threads(2)
loaded = ModelRegistry().load("minilm-clm")
model, tok = loaded.model, loaded.tokenizer
ids = tok("the cat sat on the mat", return_tensors="pt").input_ids[:, :-1]
with torch.no_grad():
    full = model(ids).logits[0, 2]
    cut = model(ids[:, :3]).logits[0, 2]
out = generate(model, tok, "the capital of france is", GenerateSettings(max_new_tokens=12))
reference = model.generate(
    ids.new_tensor([tok("the capital of france is").input_ids[:-1]]), max_new_tokens=12, do_sample=False
)
pairs = score_pairs(model, tok, read_pairs(example_pairs_path()))
print("RESULT" + json.dumps({
    "family": family_of(model), "causal": bool(torch.allclose(full, cut, atol=1e-4)),
    "tied": model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr(),
    "text": out.text, "ids": [t.id for t in out.tokens], "reference": reference[0, -len(out.tokens):].tolist(),
    "right": pairs.preferred_first, "pairs": pairs.pairs, "method": pairs.method,
}))
"""


def _run() -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.split("RESULT", 1)[1])


def test_the_embedded_decoder_generates_and_prefers_acceptable_sentences() -> None:
    out = _run()
    assert out["family"] == "causal" and out["tied"]
    assert out["causal"], "a later token changed an earlier position's logits: attention is not causal"
    assert out["ids"] == out["reference"] and out["text"].strip()  # the app's greedy = transformers' greedy
    assert out["method"] == "chain" and out["right"] > out["pairs"] / 2  # README: the measured count


def test_training_record_beats_the_bigram_baseline() -> None:
    record = json.loads((MODEL_DIR / "training.json").read_text(encoding="utf-8"))
    assert record["heldout_bits_per_char"] < record["bigram_bits_per_char"]
    assert record["heldout_passages"] == 400 and record["recipe"] == "packaging/clm/train_clm.py"
