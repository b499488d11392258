"""The masked-LM recipe (packaging/mlm) runs end to end on a tiny corpus.

Why: the real run takes hours and needs apt/npm; these tests keep the corpus
cleaning, masking, training loop, checkpointing and export honest in seconds.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "packaging" / "mlm"))

import build_corpus  # noqa: E402
import train_mlm  # noqa: E402

PARAGRAPHS = [
    "The quick brown fox jumps over the lazy dog near the quiet river bank every morning.",
    "Paris is the capital of France, and Rome is the capital of Italy in southern Europe.",
    "The children played in the park after school while their parents talked on the benches.",
    "A library lends books, newspapers and music to the people who live in the town around it.",
    "Water freezes at zero degrees Celsius and boils at one hundred degrees at sea level.",
    "The farmer milked the cows before sunrise and then drove the tractor out to the fields.",
]


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT with the MiniLM tokenizer: fast stand-in for the real encoder."""
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_base")
    base = train_mlm.default_base_model_dir()
    for name in train_mlm.TOKENIZER_FILES:
        if (base / name).exists():
            shutil.copy2(base / name, folder / name)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(str(folder))
    return folder


def test_build_corpus_cleans_dedupes_and_records_licences(tmp_path: Path) -> None:
    def reader() -> list[str]:
        return [
            PARAGRAPHS[0],
            "  " + PARAGRAPHS[0].upper() + "\n",
            "too short",
            "| 1 | 2 | 3 | 4 | 5 | 6 |",
            PARAGRAPHS[1].replace(" ", "\n  "),
        ]

    src = build_corpus.Source("demo", "test:demo", "Public domain", "test", reader)
    stats = build_corpus.build(tmp_path, [src])
    lines = (tmp_path / "corpus.txt").read_text(encoding="utf-8").splitlines()
    assert lines == [PARAGRAPHS[0], PARAGRAPHS[1]]
    meta = json.loads((tmp_path / "sources.json").read_text(encoding="utf-8"))
    assert meta["sources"]["demo"]["license"] == "Public domain"
    assert meta["sources"]["demo"]["duplicates_dropped"] == 1
    assert stats["demo"]["bytes"] == meta["total_bytes"] > 0
    assert "gcide" in meta["excluded"]
    shipped = {s.name for s in build_corpus.make_sources(tmp_path)}
    assert "gcide" not in shipped and all(s.license for s in build_corpus.make_sources(tmp_path))


@pytest.mark.parametrize("whole_word", [False, True])
def test_masker_never_masks_special_tokens(tiny_base: Path, whole_word: bool) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_base))
    ids = tok([" ".join(PARAGRAPHS)] * 8, return_tensors="pt", truncation=True, max_length=64)["input_ids"]
    masker = train_mlm.Masker(tok, 0.3, whole_word)
    inputs, labels = masker(ids, torch.Generator().manual_seed(0))
    chosen = labels != -100
    assert chosen.any()
    assert not chosen[:, 0].any() and not chosen[:, -1].any()
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(inputs[~chosen], ids[~chosen])
    share_mask = (inputs[chosen] == tok.mask_token_id).float().mean().item()
    assert 0.6 < share_mask < 0.95
    if whole_word:
        cont = masker.continuation[ids]
        # a continuation piece is masked exactly when the piece before it is
        assert torch.equal(chosen[:, 1:][cont[:, 1:]], chosen[:, :-1][cont[:, 1:]])


def test_train_end_to_end_writes_loadable_folder(tiny_base: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForMaskedLM

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(PARAGRAPHS * 6) + "\n", encoding="utf-8")
    probes = tmp_path / "probes.json"
    probes.write_text(json.dumps([{"text": "Paris is the capital of [MASK].", "answers": ["france"]}]))
    cfg = train_mlm.TrainConfig(
        block_size=32,
        batch_size=4,
        max_steps=3,
        warmup_steps=1,
        eval_every=2,
        eval_frac=0.2,
        max_eval_blocks=4,
        lr=1e-3,
    )
    out, work = tmp_path / "out", tmp_path / "work"
    record = train_mlm.train(corpus, tiny_base, out, work, cfg, probes_path=probes, log=lambda _m: None)

    assert record["steps"] == 3 and record["stop_reason"] == "max_steps"
    assert [h["step"] for h in record["history"]] == [2, 3]
    assert (work / "best" / "model.safetensors").exists() and (work / "last.pt").exists()
    saved = json.loads((out / "training.json").read_text(encoding="utf-8"))
    for key in ("description", "license", "settings", "heldout_before", "heldout_final", "probe_set"):
        assert key in saved
    assert saved["probe_set"]["n"] == 1
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["architectures"] == ["BertForMaskedLM"]
    assert (out / "vocab.txt").exists() and (out / "tokenizer.json").exists()
    model = AutoModelForMaskedLM.from_pretrained(str(out))
    assert type(model).__name__ == "BertForMaskedLM"
    assert next(model.parameters()).dtype == torch.float32
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()

    # resuming continues from the saved state instead of starting over
    cfg.max_steps = 4
    record2 = train_mlm.train(
        corpus, tiny_base, out, work, cfg, probes_path=probes, resume=True, log=lambda _m: None
    )
    assert record2["steps"] == 4 and record2["heldout_before"] == record["heldout_before"]


def test_lr_schedule_warms_up_then_decays_within_time_budget() -> None:
    cfg = train_mlm.TrainConfig(warmup_steps=100, max_steps=10_000, time_budget_min=10)
    assert train_mlm.lr_factor(0, cfg, 0.0) == pytest.approx(0.01)
    # a slow machine: warm-up ends after 5 % of the budget even at step 5
    assert train_mlm.lr_factor(5, cfg, 30.0) > 0.98
    mid = train_mlm.lr_factor(200, cfg, 300.0)
    end = train_mlm.lr_factor(300, cfg, 600.0)
    assert 1.0 > mid > end == pytest.approx(cfg.min_lr_ratio)
