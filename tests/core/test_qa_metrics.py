"""SQuAD's normalisation, exact match and F1 against values computed by hand."""

from __future__ import annotations

import pytest

from lmstudio_app.core.qa.metrics import best_scores, exact_match, f1_score, normalize_answer, squad_metrics


def test_normalisation_lower_cases_and_drops_punctuation_articles_and_extra_spaces():
    assert normalize_answer("  The Eiffel-Tower, in   PARIS! ") == "eiffeltower in paris"
    assert normalize_answer("An apple a day") == "apple day"
    assert normalize_answer("theatre") == "theatre"  # an article only as a whole word
    assert normalize_answer("The") == ""


def test_exact_match_and_f1_by_hand():
    assert exact_match("the Eiffel Tower", "Eiffel tower.") == 1.0
    assert exact_match("Eiffel", "Eiffel Tower") == 0.0
    # pred eiffel tower in paris / gold eiffel tower: 2 common, P = 2/4, R = 2/2, F1 = 2 * 0.5 * 1 / 1.5
    assert f1_score("Eiffel Tower in Paris", "the Eiffel Tower") == pytest.approx(2 / 3)
    # pred cat cat / gold cat: common counts min(2, 1) = 1, P = 1/2, R = 1
    assert f1_score("a cat cat", "cat") == pytest.approx(2 / 3)
    # pred "new york city" / gold "york new": 2 common, P = 2/3, R = 1, F1 = 0.8
    assert f1_score("New York City", "York, New") == pytest.approx(0.8)
    assert f1_score("paris", "rome") == 0.0
    assert f1_score("", "") == 1.0 and f1_score("the", "") == 1.0  # both empty once normalised
    assert f1_score("paris", "") == 0.0 and f1_score("", "paris") == 0.0


def test_best_over_gold_answers_and_unanswerable():
    assert best_scores("Denver Broncos", ["Broncos", "Denver Broncos", "the Broncos"]) == (1.0, 1.0)
    exact, f1 = best_scores("the Denver team", ["Broncos", "Denver Broncos"])
    assert exact == 0.0 and f1 == pytest.approx(0.5)  # denver team vs denver broncos: P 1/2, R 1/2
    assert best_scores("", []) == (1.0, 1.0)  # no answer to an unanswerable question
    assert best_scores("Paris", []) == (0.0, 0.0)
    assert best_scores("", ["The"]) == (1.0, 1.0)  # a gold answer that normalises away counts as none


def test_squad_metrics_averages_and_splits_answerable_from_unanswerable():
    predictions = ["eiffel tower", "", "blue", "Eiffel Tower in Paris"]
    golds = [["The Eiffel Tower"], [], ["red"], ["Eiffel Tower"]]
    metrics = squad_metrics(predictions, golds)
    assert metrics["eval_exact_match"] == pytest.approx((1 + 1 + 0 + 0) / 4)
    assert metrics["eval_f1"] == pytest.approx((1 + 1 + 0 + 2 / 3) / 4)
    assert metrics["eval_has_answer_f1"] == pytest.approx((1 + 0 + 2 / 3) / 3)
    assert metrics["eval_no_answer_accuracy"] == 1.0
    assert set(squad_metrics(["a"], [["a"]], prefix="")) == {"exact_match", "f1"}
    with pytest.raises(ValueError):
        squad_metrics(["a"], [])
