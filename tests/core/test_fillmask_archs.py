"""The mask-positions-only head gives each architecture's own logits, also in padded batches."""

from __future__ import annotations

import pytest
import torch
import transformers as T

from lmstudio_app.core.fillmask.predict import _Scorer

SMALL = {"vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2}
ARCHS = {
    "bert": (T.BertConfig, T.BertForMaskedLM, {}),
    "roberta": (T.RobertaConfig, T.RobertaForMaskedLM, {}),
    "albert": (T.AlbertConfig, T.AlbertForMaskedLM, {"embedding_size": 16}),
    "deberta-v2": (T.DebertaV2Config, T.DebertaV2ForMaskedLM, {}),
    "mpnet": (T.MPNetConfig, T.MPNetForMaskedLM, {}),
    "electra": (T.ElectraConfig, T.ElectraForMaskedLM, {}),  # no split: full forward
    "distilbert": (T.DistilBertConfig, T.DistilBertForMaskedLM, None),  # no split: full forward
}


class _Tokenizer:
    pad_token_id = 1


@pytest.mark.parametrize("arch", list(ARCHS))
def test_logits_at_mask_positions_match_the_full_model(arch: str) -> None:
    config_cls, model_cls, extra = ARCHS[arch]
    if extra is None:
        config = config_cls(
            vocab_size=100, dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=64
        )
    else:
        config = config_cls(**SMALL, intermediate_size=64, max_position_embeddings=64, **extra)
    torch.manual_seed(0)
    model = model_cls(config).eval()
    rows, positions = [[0, 5, 6, 7, 8, 2], [0, 9, 10, 2]], [[2, 4], [1]]
    got = _Scorer(model, _Tokenizer()).logits(rows, positions)
    for row, asked, logits in zip(rows, positions, got, strict=True):
        with torch.no_grad():
            full = model(input_ids=torch.tensor([row])).logits[0, asked]
        torch.testing.assert_close(logits, full, atol=1e-4, rtol=1e-4)
