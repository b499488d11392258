"""The attributed layer is found on BERT-like architectures without a list of names, and explains there."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers as T

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.explain.attribution import ExplainOptions, explain
from lmstudio_app.core.explain.layer import describe, embeddings_module
from lmstudio_app.core.models.registry import HEAD_MLM, LoadedModel


def _distilbert(vocab_size: int = 30522) -> torch.nn.Module:
    config = T.DistilBertConfig(vocab_size=vocab_size, dim=32, n_layers=2, n_heads=2, hidden_dim=64)
    torch.manual_seed(0)
    return T.DistilBertForMaskedLM(config).eval()


SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
ARCHS = {
    "roberta.embeddings": lambda: T.RobertaForSequenceClassification(T.RobertaConfig(**SMALL)),
    "albert.embeddings": lambda: T.AlbertForMaskedLM(T.AlbertConfig(embedding_size=16, **SMALL)),
    "electra.embeddings": lambda: T.ElectraForSequenceClassification(T.ElectraConfig(**SMALL)),
    "deberta.embeddings": lambda: T.DebertaV2ForMaskedLM(T.DebertaV2Config(**SMALL)),
    "distilbert.embeddings": _distilbert,
}


@pytest.mark.parametrize("path", list(ARCHS))
def test_the_embeddings_module_is_the_word_tables_parent(path):
    model = ARCHS[path]()
    found, module = embeddings_module(model)
    assert found == path and module is model.get_submodule(path)
    assert model.get_input_embeddings() in list(module.children())
    assert describe(found, module) == f"{path} output (after LayerNorm)"


def test_a_model_without_an_embeddings_module_is_one_clear_line():
    model = T.GPT2ForSequenceClassification(T.GPT2Config(n_embd=32, n_layer=1, n_head=2))
    with pytest.raises(UserError, match="no embeddings module") as info:
        embeddings_module(model)
    assert "\n" not in str(info.value)


def test_ig_completes_at_distilberts_embeddings_output(tiny_model):
    """No token_type_ids and another module layout: IG still sums to f(x) - f(baseline) at that layer."""
    tokenizer = T.AutoTokenizer.from_pretrained(tiny_model("encoder"))
    model = _distilbert(len(tokenizer))
    loaded = LoadedModel(
        key="distilbert",
        name="distilbert",
        source=None,
        model=model,
        tokenizer=tokenizer,
        device="cpu",
        dtype="float32",
        architecture=type(model).__name__,
        heads=(HEAD_MLM,),
        param_count=0,
        bytes=0,
    )
    result = explain(loaded, "the cat sat on the [MASK]", ExplainOptions(candidate="mat", steps=32))
    assert result.layer == "distilbert.embeddings output (after LayerNorm)"
    gap = result.output - result.baseline_output
    assert abs(gap) > 1e-4
    assert abs(float(np.sum(result.token_scores)) - gap) <= abs(result.delta) + 1e-5
    assert abs(result.delta) < 0.05 * abs(gap)
