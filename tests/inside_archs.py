"""Tiny random models of the other BERT-like architectures the Inside views support, as LoadedModels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import transformers as T

from lmstudio_app.core.models.registry import LoadedModel

SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
ARCHS = {
    "roberta": (T.RobertaConfig, T.RobertaForMaskedLM, SMALL),
    "electra": (T.ElectraConfig, T.ElectraForMaskedLM, {**SMALL, "embedding_size": 16}),
    "distilbert": (
        T.DistilBertConfig,
        T.DistilBertForMaskedLM,
        {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64},
    ),
}


def as_loaded(model: Any, tokenizer: Any, name: str) -> LoadedModel:
    return LoadedModel(
        key=name,
        name=name,
        source=None,
        model=model.eval(),
        tokenizer=tokenizer,
        device="cpu",
        dtype="float32",
        architecture=type(model).__name__,
        heads=(),
        param_count=0,
        bytes=0,
    )


def build_arch(arch: str, tokenizer_dir: Path, seed: int = 0) -> LoadedModel:
    """A 2-layer, 2-head model of `arch` (see ARCHS) using the tiny BERT tokenizer in `tokenizer_dir`."""
    config_cls, model_cls, sizes = ARCHS[arch]
    tokenizer = T.AutoTokenizer.from_pretrained(tokenizer_dir)
    config = config_cls(vocab_size=len(tokenizer), max_position_embeddings=64, **sizes)
    torch.manual_seed(seed)
    return as_loaded(model_cls(config), tokenizer, arch)
