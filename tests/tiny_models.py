"""Tiny random BERT models saved as real Hugging Face folders, for fast tests of the real code paths."""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "the a an of to and in is was it that he she they we you i on for with as at by from his her their "
    "cat dog sat mat floor bed house door window table chair car road city paris france london england "
    "capital river sea sun moon day night good bad happy sad big small red blue green old new man woman "
    "child boy girl book movie film great terrible love hate like not very movie was this play played "
    "playing cup tea coffee milk water drink drank eat ate food opened open close closed run ran walk"
).split()
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PIECES = [f"##{s}" for s in ("s", "ing", "ed", "er", "ly", "es", "y")] + list(
    "abcdefghijklmnopqrstuvwxyz.,!?'"
)
KINDS = ("pretraining", "mlm", "encoder", "classifier")


def vocab() -> list[str]:
    return SPECIALS + list(dict.fromkeys(WORDS)) + PIECES


def build_tiny_model(folder: Path, kind: str, num_labels: int = 2, seed: int = 0) -> Path:
    """Save a 2-layer, 2-head, hidden-32 BERT of `kind` (see KINDS) with a tokenizer into `folder`."""
    import torch
    import transformers
    from transformers import BertConfig, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(vocab()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(vocab_file), do_lower_case=True)  # v5: `vocab`, not `vocab_file`
    config = BertConfig(
        vocab_size=len(vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=num_labels,
    )
    if kind == "classifier":
        config.id2label = {i: f"label_{i}" for i in range(num_labels)}
        config.label2id = {v: k for k, v in config.id2label.items()}
    cls = {
        "pretraining": transformers.BertForPreTraining,
        "mlm": transformers.BertForMaskedLM,
        "encoder": transformers.BertModel,
        "classifier": transformers.BertForSequenceClassification,
    }[kind]
    torch.manual_seed(seed)
    model = cls(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
