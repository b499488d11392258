"""Next-sentence prediction on the tiny pre-training model (MLM + NSP heads)."""

from __future__ import annotations

import pytest
import torch
import transformers

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.fillmask.nsp import has_nsp_head, next_sentence_probability


def test_is_next_probability_matches_the_full_model(tiny_model) -> None:
    path = tiny_model("pretraining")
    model = transformers.AutoModelForPreTraining.from_pretrained(path).eval()
    tok = transformers.AutoTokenizer.from_pretrained(path)
    p = next_sentence_probability(model, tok, "the cat sat on the mat.", "it was happy.")
    with torch.no_grad():
        logits = model(
            **tok("the cat sat on the mat.", "it was happy.", return_tensors="pt")
        ).seq_relationship_logits
    assert p == pytest.approx(logits.softmax(-1)[0, 0].item(), abs=1e-6)
    assert 0.0 < p < 1.0 and has_nsp_head(model)


def test_models_without_the_head_and_empty_sentences_say_so(tiny_model) -> None:
    path = tiny_model("mlm")
    model = transformers.AutoModelForMaskedLM.from_pretrained(path)
    tok = transformers.AutoTokenizer.from_pretrained(path)
    assert not has_nsp_head(model)
    with pytest.raises(UserError, match="tiny has no next-sentence head"):
        next_sentence_probability(model, tok, "a", "b", name="tiny")
    with pytest.raises(UserError, match="both sentences"):
        next_sentence_probability(model, tok, "a", " ")
