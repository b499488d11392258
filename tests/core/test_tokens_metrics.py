"""Word-level metrics against a count by hand: token accuracy, confusion, entity P/R/F1 overall and per type."""

from __future__ import annotations

import pytest

from lmstudio_app.core.tokens.data import TaggedData
from lmstudio_app.core.tokens.job import tag_list, tag_sort_key
from lmstudio_app.core.tokens.metrics import tag_metrics

TRUTH = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-PER"]]
PREDICTED = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "O", "B-LOC"]]
TAGS = ["O", "B-LOC", "B-ORG", "B-PER", "I-PER"]


def test_entity_scores_equal_a_hand_count():
    scores = tag_metrics(TRUTH, PREDICTED, TAGS)
    # entities: true PER(0-2) LOC(3) ORG PER; predicted PER(0-2) ORG LOC(at the 2nd sentence's PER): 2 right
    precision, recall = 2 / 3, 2 / 4
    assert scores["metrics"] == pytest.approx(
        {
            "eval_token_accuracy": 5 / 7,
            "eval_precision": precision,
            "eval_recall": recall,
            "eval_f1": 2 * precision * recall / (precision + recall),
        }
    )
    assert scores["per_type"] == {
        "LOC": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1},
        "ORG": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
        "PER": pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}),
    }
    confusion = scores["confusion"]
    assert confusion[TAGS.index("B-LOC")][TAGS.index("O")] == 1
    assert confusion[TAGS.index("B-PER")][TAGS.index("B-LOC")] == 1
    assert sum(map(sum, confusion)) == 7 and sum(confusion[i][i] for i in range(len(TAGS))) == 5
    assert scores["per_tag"]["O"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2}
    )


def test_tags_without_a_scheme_get_token_accuracy_only():
    scores = tag_metrics([["DET", "NOUN", "VERB"]], [["DET", "VERB", "VERB"]], ["DET", "NOUN", "VERB"])
    assert scores["metrics"] == pytest.approx({"eval_token_accuracy": 2 / 3}) and scores["per_type"] == {}


def test_tag_order_puts_o_first_and_keeps_a_type_together():
    data = TaggedData([["x"] * 6], [["I-PER", "B-LOC", "O", "B-PER", "NOUN", "I-LOC"]])
    assert tag_list(data) == ["O", "B-LOC", "I-LOC", "NOUN", "B-PER", "I-PER"]
    assert tag_sort_key("S-X") > tag_sort_key("E-X") > tag_sort_key("B-X")
