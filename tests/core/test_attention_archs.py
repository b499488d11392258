"""Attention extraction and the neuron view's hooks on other BERT-like architectures (tiny random models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers as T

from lmstudio_app.core.attention.analysis import neuron_view
from lmstudio_app.core.attention.extract import extract_attention
from lmstudio_app.core.models.registry import LoadedModel

SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
# arch: (config class, model class, extra config, softmax(q.k/sqrt(d)) is the attention: no position bias)
ARCHS = {
    "roberta": (T.RobertaConfig, T.RobertaForMaskedLM, {}, True),
    "albert": (T.AlbertConfig, T.AlbertForSequenceClassification, {"embedding_size": 16}, True),
    "electra": (T.ElectraConfig, T.ElectraModel, {}, True),
    "distilbert": (T.DistilBertConfig, T.DistilBertForMaskedLM, None, True),
    "deberta-v2": (T.DebertaV2Config, T.DebertaV2ForMaskedLM, {}, False),
    "mpnet": (T.MPNetConfig, T.MPNetForMaskedLM, {}, False),
}


@pytest.mark.parametrize("arch", list(ARCHS))
def test_architecture(arch, tiny_model):
    config_cls, model_cls, extra, plain_softmax = ARCHS[arch]
    tokenizer = T.AutoTokenizer.from_pretrained(tiny_model("encoder"))
    vocab = len(tokenizer)
    if extra is None:
        config = config_cls(
            vocab_size=vocab, dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=64
        )
    else:
        config = config_cls(vocab_size=vocab, max_position_embeddings=64, **SMALL, **extra)
    torch.manual_seed(0)
    model = model_cls(config).eval()
    loaded = LoadedModel(
        key=arch,
        name=arch,
        source=None,
        model=model,
        tokenizer=tokenizer,
        device="cpu",
        dtype="float32",
        architecture=type(model).__name__,
        heads=(),
        param_count=0,
        bytes=0,
    )
    before = model.config._attn_implementation
    result = extract_attention(loaded, "the cat sat on the mat")
    assert result.attentions.shape == (2, 2, 8, 8)
    np.testing.assert_allclose(result.attentions.sum(-1), 1.0, atol=1e-5)
    assert result.queries is not None and result.queries.shape == (2, 2, 8, 16)
    assert model.config._attn_implementation == before
    nv = neuron_view(result, 1, 0, 3)
    if plain_softmax:
        np.testing.assert_allclose(nv.softmax, nv.attention, atol=1e-5)
