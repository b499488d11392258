"""Pre-training objectives: BERT's 15 % / 80-10-10 masking and L = α·L_MLM + β·L_NSP against the model's losses."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
import transformers as T

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.objectives import IGNORE, Weights, draw_masking, objectives
from lmstudio_app.core.models.registry import ModelRegistry

TEXT_A = "the cat sat on the mat and the dog ran to the door of the old house"
TEXT_B = "a man drank tea"


def test_masking_shares_over_many_draws():
    n, specials = 42, {0, 41}
    ids = [7 if i in specials else 100 + i for i in range(n)]
    special = [i in specials for i in range(n)]
    rng = np.random.default_rng(0)
    counts: Counter[str] = Counter()
    draws = 3000
    for _ in range(draws):
        m = draw_masking(ids, special, mask_id=4, vocab_size=200, rng=rng)
        chosen = [i for i, label in enumerate(m.labels) if label != IGNORE]
        assert len(chosen) == 6  # 15 % of the 40 ordinary tokens
        assert not any(special[i] for i in chosen)
        for i in chosen:
            assert m.labels[i] == ids[i]
            action = m.actions[i]
            counts[action] += 1
            if action == "mask":
                assert m.ids[i] == 4
            elif action == "keep":
                assert m.ids[i] == ids[i]
            else:
                assert m.ids[i] not in (4, 7)
        assert all(m.ids[i] == ids[i] for i in range(n) if i not in chosen)
    total = sum(counts.values())
    assert total == 6 * draws
    assert counts["mask"] / total == pytest.approx(0.8, abs=0.015)
    assert counts["random"] / total == pytest.approx(0.1, abs=0.01)
    assert counts["keep"] / total == pytest.approx(0.1, abs=0.01)


@pytest.fixture(scope="module")
def pretraining(tiny_model):
    return ModelRegistry().load(str(tiny_model("pretraining")))


@pytest.mark.parametrize(("alpha", "beta", "is_next"), [(1.0, 1.0, True), (0.3, 2.5, False)])
def test_combined_loss_is_the_weighted_sum_of_the_models_own_losses(
    pretraining, tiny_model, alpha, beta, is_next
):
    result = objectives(pretraining, TEXT_A, TEXT_B, Weights(alpha, beta, seed=5, is_next=is_next))
    inputs = result.encoded.inputs
    labels = torch.tensor([result.masking.labels])
    nsp_label = torch.tensor([0 if is_next else 1])
    folder = tiny_model("pretraining")
    with torch.no_grad():
        both = pretraining.model(**inputs, labels=labels, next_sentence_label=nsp_label).loss
        mlm = T.BertForMaskedLM.from_pretrained(folder).eval()(**inputs, labels=labels).loss
        nsp = T.BertForNextSentencePrediction.from_pretrained(folder).eval()(**inputs, labels=nsp_label).loss
    assert result.l_mlm == pytest.approx(float(mlm), rel=1e-5)
    assert result.l_nsp == pytest.approx(float(nsp), rel=1e-5)
    assert result.l_mlm + result.l_nsp == pytest.approx(float(both), rel=1e-5)
    assert result.total == pytest.approx(alpha * float(mlm) + beta * float(nsp), rel=1e-5)
    assert np.mean([m.loss for m in result.masked]) == pytest.approx(result.l_mlm)
    assert 0 < result.p_is_next < 1 and result.to_json()["loss"] == pytest.approx(result.total)


def test_seeded_draws_and_models_without_nsp(pretraining, tiny_model):
    first = objectives(pretraining, TEXT_A, TEXT_B, Weights(seed=1))
    assert objectives(pretraining, TEXT_A, TEXT_B, Weights(seed=1)).masking == first.masking
    assert objectives(pretraining, TEXT_A, TEXT_B, Weights(seed=2)).masking != first.masking
    alone = objectives(pretraining, TEXT_A)
    assert alone.l_nsp is None and "sentence B" in alone.note
    mlm = ModelRegistry().load(str(tiny_model("mlm")))
    result = objectives(mlm, TEXT_A, TEXT_B, Weights(alpha=2.0, beta=5.0))
    assert result.l_nsp is None and "no next-sentence head" in result.note
    assert result.total == pytest.approx(2.0 * result.l_mlm)
    with pytest.raises(UserError, match="alpha must be a number >= 0"):
        objectives(mlm, TEXT_A, weights=Weights(alpha=-1))
    with pytest.raises(UserError, match="no masked-LM head"):
        objectives(ModelRegistry().load(str(tiny_model("classifier"))), TEXT_A)
