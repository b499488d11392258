"""The shipped embedded masked-LM (resources/models/minilm-mlm) really fills blanks.

Why: the app offers this folder as its offline fill-mask default; a broken
export (untied head, wrong architecture, truncated weights) would only show
up as nonsense predictions, so the weights themselves are checked here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = REPO / "resources" / "models" / "minilm-mlm"
PROBES = REPO / "tests" / "data" / "cloze_probes.json"

_SCRIPT = r"""
import json, sys
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer
torch.set_num_threads(2)
path, texts = sys.argv[1], json.loads(sys.argv[2])
model = AutoModelForMaskedLM.from_pretrained(path)
tok = AutoTokenizer.from_pretrained(path)
model.eval()
out = {"class": type(model).__name__, "dtype": str(next(model.parameters()).dtype),
       "tied": model.get_output_embeddings().weight.data_ptr()
       == model.get_input_embeddings().weight.data_ptr(), "top5": []}
with torch.no_grad():
    for text in texts:
        enc = tok(text.replace("[MASK]", tok.mask_token), return_tensors="pt")
        pos = (enc["input_ids"][0] == tok.mask_token_id).nonzero()[0, 0]
        ids = model(**enc).logits[0, pos].topk(5).indices
        out["top5"].append([tok.decode([int(i)]).strip() for i in ids])
print("RESULT" + json.dumps(out))
"""


def _requires_weights() -> None:
    if not (MODEL_DIR / "model.safetensors").exists():
        pytest.skip(
            "resources/models/minilm-mlm has no model.safetensors yet (run packaging/mlm/make_mlm.sh)"
        )


def test_training_record_is_complete() -> None:
    _requires_weights()
    record = json.loads((MODEL_DIR / "training.json").read_text(encoding="utf-8"))
    for key in (
        "description",
        "license",
        "settings",
        "corpus",
        "steps",
        "heldout_before",
        "heldout_final",
        "probe_set",
    ):
        assert key in record, key
    assert record["heldout_final"]["top5"] > record["heldout_before"]["top5"]
    config = json.loads((MODEL_DIR / "config.json").read_text(encoding="utf-8"))
    assert config["architectures"] == ["BertForPreTraining"]  # masked-LM and next-sentence heads
    assert record["nsp_stage"]["heldout_after"]["eval_nsp_accuracy"] > 0.55
    assert (
        record["nsp_stage"]["heldout_after"]["eval_mlm_top5"]
        >= record["nsp_stage"]["heldout_before"]["eval_mlm_top5"]
    )
    assert (MODEL_DIR / "model.safetensors").stat().st_size < 50 * 1024 * 1024
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        assert (MODEL_DIR / name).exists(), name


def test_shipped_model_fills_probe_blanks_offline() -> None:
    _requires_weights()
    probes = json.loads(PROBES.read_text(encoding="utf-8"))
    answers = {p["text"]: set(p["answers"]) for p in probes}
    record = json.loads((MODEL_DIR / "training.json").read_text(encoding="utf-8"))
    solved = [d["text"] for d in record["probe_set"]["details"] if d["hit"]]
    assert len(solved) >= 5, f"the exported model solves only {len(solved)} probes"
    solved = solved[:8]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(MODEL_DIR), json.dumps(solved)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))
    result = json.loads(line[len("RESULT") :])
    assert result["class"] == "BertForMaskedLM"
    assert result["dtype"] == "torch.float32"
    assert result["tied"]
    for text, top5 in zip(solved, result["top5"], strict=True):
        assert set(top5) & answers[text], f"{text!r}: top-5 {top5}"
