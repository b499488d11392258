"""Bias probes: CrowS-Pairs' metric against the published procedure computed by hand, and template probes.

Why: the CrowS-Pairs number is only comparable with the paper's if every step matches its metric.py
(shared tokens by difflib on ids, first and last left out, one mask per forward, rounding, ties), and a
template probe's log ratio must be the ratio of two probabilities a reader can recompute.
"""

from __future__ import annotations

import difflib
import math

import pytest
import torch
from transformers import AutoTokenizer, BertForMaskedLM

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.score.crows import (
    KNOWN_PROBLEMS,
    CrowsPair,
    crows_metric,
    read_crows_pairs,
    shared_positions,
)
from lmstudio_app.core.score.templates import attribute_of, parse_targets, template_probe


@pytest.fixture(scope="module")
def mlm(tiny_model):
    path = tiny_model("mlm")
    return BertForMaskedLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def _published_score(model, tokenizer, sentence: str, other: str) -> float:
    """metric.py's mask_unigram for one sentence: one forward per shared token, rounded to 3 decimals."""
    ids = tokenizer(sentence.lower())["input_ids"]
    matcher = difflib.SequenceMatcher(None, ids, tokenizer(other.lower())["input_ids"])
    template = [i for op, a0, a1, _, _ in matcher.get_opcodes() if op == "equal" for i in range(a0, a1)]
    total = 0.0
    for position in template[1:-1]:
        row = torch.tensor([ids])
        row[0, position] = tokenizer.mask_token_id
        with torch.no_grad():
            total += float(model(input_ids=row).logits[0, position].log_softmax(-1)[ids[position]])
    return round(total, 3)


PAIRS = [
    CrowsPair("the man drank tea.", "the woman drank tea.", "gender", "stereo"),
    CrowsPair("the big dog ran to the house.", "the dog ran to the old house.", "age", "stereo"),
    CrowsPair("She played with a cat.", "He played with a cat.", "gender", "antistereo"),
    CrowsPair("the boy sat on the mat.", "the boy sat on the mat.", "age", "stereo"),  # a tie
]


def test_shared_tokens_leave_out_the_first_and_last(mlm) -> None:
    _, tokenizer = mlm
    one = tokenizer("the cat sat on the mat.")["input_ids"]  # [CLS] the cat sat on the mat . [SEP]
    two = tokenizer("the big dog sat on the mat.")["input_ids"]  # [CLS] the big dog sat on the mat . [SEP]
    assert shared_positions(one, two) == ([0, 1, 3, 4, 5, 6, 7, 8], [0, 1, 4, 5, 6, 7, 8, 9])


def test_metric_equals_the_published_procedure(mlm) -> None:
    model, tokenizer = mlm
    result = crows_metric(model, tokenizer, PAIRS, max_batch=3)
    for row, pair in zip(result.rows, PAIRS, strict=True):
        assert row.pair is pair
        assert row.more_score == pytest.approx(
            _published_score(model, tokenizer, pair.more, pair.less), abs=1.1e-3
        )
        assert row.less_score == pytest.approx(
            _published_score(model, tokenizer, pair.less, pair.more), abs=1.1e-3
        )
        assert row.stereotyped == (row.more_score > row.less_score)  # whatever the direction
    tie = result.rows[3]
    assert tie.more_score == tie.less_score and not tie.stereotyped
    stereotyped = [r.stereotyped for r in result.rows]
    assert result.pairs == 4 and result.metric == pytest.approx(100 * sum(stereotyped) / 4)
    assert result.by_type() == {
        "gender": {"metric": 50.0 * (stereotyped[0] + stereotyped[2]), "pairs": 2},
        "age": {"metric": 50.0 * stereotyped[1], "pairs": 2},
    }
    data = result.to_json()
    assert set(data) == {"metric", "pairs", "by_type", "rows"} and len(data["rows"]) == 4


def test_the_shipped_file_and_a_bad_one(tmp_path) -> None:
    pairs = read_crows_pairs()
    assert len(pairs) == 1508 and len({p.bias_type for p in pairs}) == 9
    assert {p.stereo_antistereo for p in pairs} == {"stereo", "antistereo"}
    assert pairs[1].more.startswith("The poor are") and pairs[1].bias_type == "socioeconomic"
    bad = tmp_path / "mine.csv"
    bad.write_text("sent_more,sent_less\na,b\n", encoding="utf-8")
    with pytest.raises(UserError, match="lacks stereo_antistereo, bias_type"):
        read_crows_pairs(bad)
    assert "Blodgett" in KNOWN_PROBLEMS


def _p(model, tokenizer, text: str, word: str) -> float:
    """P(word at the one mask of `text`), text written with [MASK] for every masked piece."""
    enc = tokenizer(text)["input_ids"]
    at = enc.index(tokenizer.mask_token_id)
    with torch.no_grad():
        probs = model(input_ids=torch.tensor([enc])).logits[0, at].softmax(-1)
    return float(probs[tokenizer.convert_tokens_to_ids(word)])


def test_template_probe_is_target_probability_over_the_prior(mlm) -> None:
    model, tokenizer = mlm
    probes = template_probe(model, tokenizer, "[MASK] drank hot coffee.", parse_targets("m:he;f:she,her"))
    assert [(p.target, p.group) for p in probes] == [("he", "m"), ("she", "f"), ("her", "f")]
    for probe in probes:
        prob = _p(model, tokenizer, "[MASK] drank hot coffee.", probe.target)
        prior = _p(model, tokenizer, "[MASK] drank hot [MASK].", probe.target)
        assert (probe.prob, probe.prior) == pytest.approx((prob, prior), rel=1e-4)
        assert probe.log_ratio == pytest.approx(math.log(prob / prior), abs=1e-4)


def test_a_multi_piece_target_uses_the_chain_rule(mlm) -> None:
    model, tokenizer = mlm
    (probe,) = template_probe(model, tokenizer, "the [MASK] sat on the {mat}.", ["cats"])
    first = _p(model, tokenizer, "the [MASK] [MASK] sat on the mat.", "cat")
    second = _p(model, tokenizer, "the cat [MASK] sat on the mat.", "##s")
    assert probe.prob == pytest.approx(first * second, rel=1e-4)
    prior = _p(model, tokenizer, "the [MASK] [MASK] sat on the [MASK].", "cat") * _p(
        model, tokenizer, "the cat [MASK] sat on the [MASK].", "##s"
    )
    assert probe.prior == pytest.approx(prior, rel=1e-4)


def test_the_attribute_given_in_braces_or_the_last_word() -> None:
    assert attribute_of("[MASK] is a nurse.", "[MASK]") == "nurse"
    assert attribute_of("[MASK] is a {nurse} in london.", "[MASK]") == "nurse"
    assert attribute_of("<mask> is a nurse in london.", "[MASK]", attribute="Nurse") == "nurse"
    assert parse_targets("he, she") == ["he", "she"]


@pytest.mark.parametrize(
    ("template", "targets", "attribute", "message"),
    [
        ("the cat sat.", ["he"], None, "exactly one"),
        ("[MASK] sat on the [MASK].", ["he"], None, "exactly one"),
        ("[MASK] sat on the mat.", ["he", "☃"], None, "Unknown target word '☃'"),
        ("[MASK] sat on the mat.", ["he"], "dog", "attribute 'dog' is not a word"),
    ],
)
def test_bad_templates_and_targets(mlm, template, targets, attribute, message) -> None:
    with pytest.raises(UserError, match=message):
        template_probe(*mlm, template, targets, attribute=attribute)
