"""Minimal pairs: the TSV reader, the comparison, and the shipped list on the shipped minilm-mlm.

Why: a pairs file is user input (its errors must name the line), and the README states how many of
the shipped pairs minilm-mlm gets right; this test holds that figure.
"""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer, BertForMaskedLM

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.score.pairs import example_pairs_path, read_pairs, score_pairs
from lmstudio_app.core.score.sentences import score_sentences

MEASURED_MINILM_MLM = 28  # of 36, pll, measured 2026-12 (README "Score")


def test_reader_skips_header_comments_and_blank_lines(tmp_path) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text(
        "# my pairs\nacceptable\tunacceptable\n\nthe cat sat.\tthe cat sit.\n  the dogs ran. \t the dogs runs.\n",
        encoding="utf-8",
    )
    assert read_pairs(path) == [("the cat sat.", "the cat sit."), ("the dogs ran.", "the dogs runs.")]


@pytest.mark.parametrize("bad", ["only one column", "a\tb\tc", "a\t  "])
def test_a_line_without_two_columns_is_named(tmp_path, bad: str) -> None:
    path = tmp_path / "pairs.tsv"
    path.write_text(f"good\tbad\n\n{bad}\n", encoding="utf-8")
    with pytest.raises(UserError, match="pairs.tsv line 3 does not have two columns"):
        read_pairs(path)


def test_the_shipped_list() -> None:
    pairs = read_pairs(example_pairs_path())
    assert 24 <= len(pairs) <= 40
    assert len(set(pairs)) == len(pairs) and all(a != b and a == a.lower() for a, b in pairs)


def test_preference_is_a_strictly_higher_score(tiny_model) -> None:
    path = tiny_model("mlm")
    model, tokenizer = BertForMaskedLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)
    pairs = [("the cat sat on the mat.", "the mat sat on the cat."), ("a dog ran.", "a dog ran.")]
    result = score_pairs(model, tokenizer, pairs)
    scores = [s.log_prob for s in score_sentences(model, tokenizer, [t for p in pairs for t in p])]
    got = [s for r in result.rows for s in (r.acceptable_score, r.unacceptable_score)]
    assert got == pytest.approx(scores, abs=1e-5)
    assert result.rows[0].preferred_first == (scores[0] > scores[1])
    assert not result.rows[1].preferred_first  # a tie is not a preference
    assert result.preferred_first == sum(r.preferred_first for r in result.rows)
    assert result.accuracy == result.preferred_first / 2
    data = result.to_json()
    assert set(data) == {"pairs", "preferred_first", "accuracy", "rows"} and data["pairs"] == 2


@pytest.mark.slow  # 72 sentences on the real model: ~10 s on a quiet machine, over 20 s under load
def test_minilm_mlm_gets_most_shipped_pairs_right() -> None:
    from lmstudio_app.core.models.registry import ModelRegistry

    loaded = ModelRegistry().load("minilm-mlm", "cpu", "float32")
    result = score_pairs(loaded.model, loaded.tokenizer, read_pairs(example_pairs_path()))
    assert result.method == "pll" and result.pairs == 36
    assert result.preferred_first >= MEASURED_MINILM_MLM - 2
    wrong = result.wrong()
    assert len(wrong) == result.pairs - result.preferred_first
    assert [r.margin for r in wrong] == sorted(r.margin for r in wrong) and all(r.margin <= 0 for r in wrong)
