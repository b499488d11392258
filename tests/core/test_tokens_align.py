"""Sub-word label alignment checked by hand on the tiny tokenizer, and long sentences split into
overlapping windows where every word is labelled exactly once."""

from __future__ import annotations

import random

import pytest

from lmstudio_app.core.models.word_input import load_word_tokenizer
from lmstudio_app.core.tokens.align import (
    IGNORE,
    EncodeOptions,
    align_labels,
    encode_sentences,
    gather_words,
    plan_windows,
)


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return load_word_tokenizer(tiny_model("encoder"))


def test_first_piece_carries_the_label_checked_by_hand(tokenizer):
    words = ["the", "cats", "walking", "Paris"]
    assert [tokenizer.tokenize(w) for w in words] == [["the"], ["cat", "##s"], ["walk", "##ing"], ["paris"]]
    data = encode_sentences(tokenizer, [words], [[5, 6, 7, 8]], EncodeOptions(32))
    pieces = tokenizer.convert_ids_to_tokens(data.ids[0].tolist())
    assert pieces == ["[CLS]", "the", "cat", "##s", "walk", "##ing", "paris", "[SEP]"]
    assert data.labels[0].tolist() == [IGNORE, 5, 6, IGNORE, 7, IGNORE, 8, IGNORE]
    every = encode_sentences(tokenizer, [words], [[5, 6, 7, 8]], EncodeOptions(32, all_pieces=True))
    assert every.labels[0].tolist() == [IGNORE, 5, 6, 6, 7, 7, 8, IGNORE]
    assert data.word_ids[0].tolist() == [-1, 0, 1, 1, 2, 2, 3, -1]


def test_align_labels_leaves_words_of_other_windows_out():
    word_ids = [None, 0, 0, 1, 2, 2, None]
    assert align_labels(word_ids, [4, 5, 6], range(1, 3)) == [IGNORE, IGNORE, IGNORE, 5, 6, IGNORE, IGNORE]
    assert align_labels(word_ids, [4, 5, 6], range(0, 1), all_pieces=True) == [IGNORE, 4, 4] + [IGNORE] * 4


def test_windows_tile_the_sentence_within_the_budget():
    rng = random.Random(0)
    for _ in range(300):
        counts = [rng.choice([1, 1, 1, 2, 3, 9]) for _ in range(rng.randint(1, 60))]
        budget = rng.randint(3, 12)
        windows = plan_windows(counts, budget, budget // 4)
        assert windows[0].start == 0 and windows[0].own_start == 0 and windows[-1].own_end == len(counts)
        for a, b in zip(windows, windows[1:], strict=False):
            assert a.own_end == b.own_start and a.start < b.start and a.end < b.end
        for w in windows:
            assert w.start <= w.own_start < w.own_end <= w.end
            assert sum(min(c, budget) for c in counts[w.start : w.end]) <= budget or w.end - w.start == 1


def test_a_long_sentence_is_split_with_overlap_and_each_word_labelled_once(tokenizer):
    rng = random.Random(1)
    vocabulary = ["the", "cats", "walking", "paris", "dogs", "sat", "tables", "on"]
    sentence = [rng.choice(vocabulary) for _ in range(40)]
    tags = list(range(len(sentence)))  # the word's position as its label: any mix-up shows
    data = encode_sentences(tokenizer, [sentence, ["the", "cat"]], [tags, [0, 1]], EncodeOptions(12))
    assert data.split == 1 and data.sentence_of.count(0) > 3 and data.sentence_of.count(1) == 1
    assert max(len(ids) for ids in data.ids) <= 12
    labelled = [
        int(x) for k, row in enumerate(data.labels) if data.sentence_of[k] == 0 for x in row if x != IGNORE
    ]
    assert labelled == tags  # every word once, in order: none cut, none twice
    seen = [
        data.windows[k].start + w
        for k in range(len(data))
        if data.sentence_of[k] == 0
        for w in set(data.word_ids[k].tolist()) - {-1}
    ]
    assert len(seen) > len(sentence)  # windows overlap: some words are seen twice (as context)
    values = [[int(x) for x in row] for row in data.labels]  # the labels gathered back per word
    first_piece = [[v if v != IGNORE else None for v in row] for row in values]
    assert gather_words(data, first_piece, [40, 2]) == [tags, [0, 1]]
