"""Long contexts split into windows with a stride, answers mapped to tokens, and spans decoded back, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.qa.data import Answer, QAExample
from lmstudio_app.core.qa.spans import SpanOptions, decode, decode_windows
from lmstudio_app.core.qa.windows import answer_tokens, make_windows

#          0   1   2   3  4   5   6   7   8  9   10 11  12    (context tokens, one word each)
CONTEXT = "the cat sat on the mat the dog is red on the floor"


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model("encoder"))


def example(answer: str) -> QAExample:
    return QAExample("1", "the dog", CONTEXT, [Answer(answer, CONTEXT.index(answer))], "row 1")


def test_an_answer_in_the_second_window_maps_to_its_tokens_there(tokenizer):
    # [CLS] the dog [SEP] + 7 context tokens + [SEP] = 12; windows overlap by 2: tokens 0-6, 5-11, 10-12.
    windows = make_windows(tokenizer, [example("red")], max_length=12, stride=2)
    assert len(windows) == 3 and windows.example == [0, 0, 0] and windows.cls_index == [0, 0, 0]
    words = CONTEXT.split()
    for w, first in enumerate((0, 5, 10)):
        pieces = tokenizer.convert_ids_to_tokens(windows.input_ids[w])
        shown = words[first : first + 7]
        assert pieces == ["[CLS]", "the", "dog", "[SEP]", *shown, "[SEP]"]
        context_offsets = [o for o in windows.offsets[w] if o is not None]
        assert [CONTEXT[a:b] for a, b in context_offsets] == shown
        assert windows.offsets[w][:4] == [None] * 4 and windows.offsets[w][-1] is None
    # "red" is context token 9: not in window 1, token 4 + (9 - 5) = 8 of window 2, not in window 3
    assert (windows.starts, windows.ends) == ([0, 8, 0], [0, 8, 0])
    assert windows[1]["start_positions"] == 8 and windows[1]["token_type_ids"][4:] == [1] * 8


def test_an_answer_cut_by_the_first_window_is_whole_in_the_second(tokenizer):
    windows = make_windows(tokenizer, [example("mat the dog")], max_length=12, stride=2)
    # context tokens 5..7: window 1 ends at token 6 (cut: CLS), window 2 starts at 5 -> positions 4..6
    assert (windows.starts, windows.ends) == ([0, 4, 0], [0, 6, 0])
    a, b = windows.offsets[1][4][0], windows.offsets[1][6][1]
    assert CONTEXT[a:b] == "mat the dog"


def test_an_unanswerable_question_points_every_window_at_cls(tokenizer):
    unanswerable = QAExample("2", "the dog", CONTEXT, [], "row 2")
    windows = make_windows(tokenizer, [example("red"), unanswerable], max_length=12, stride=2)
    assert windows.example == [0, 0, 0, 1, 1, 1]
    assert windows.starts[3:] == [0, 0, 0] and windows.ends[3:] == [0, 0, 0]


def test_a_question_without_room_for_its_context_is_refused_by_row(tokenizer):
    long_question = QAExample("3", "the dog " * 5, CONTEXT, [Answer("red", 34)], "row 7")
    with pytest.raises(UserError, match=r"^row 7: the question is 10 tokens, which leaves 0 for its context"):
        make_windows(tokenizer, [long_question], max_length=12, stride=2)


def test_answer_tokens_on_words_of_several_pieces():
    # "cats played": cat ##s play ##ed, after [CLS] q [SEP]; offsets by hand
    offsets = [None, None, None, (0, 3), (3, 4), (5, 9), (9, 11), None]
    assert answer_tokens(offsets, 0, 4, 0) == (3, 4)  # "cats"
    assert answer_tokens(offsets, 5, 11, 0) == (5, 6)  # "played"
    assert answer_tokens(offsets, 0, 11, 0) == (3, 6)
    assert answer_tokens(offsets, 5, 12, 0) == (0, 0)  # runs past the window
    assert answer_tokens([None, (10, 13), None], 4, 7, 0) == (0, 0)  # before the window


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def test_decode_takes_the_best_forward_span_over_windows():
    context = "aa bb cc dd"
    # window 1 holds aa bb (tokens 1, 2), window 2 holds bb cc dd (tokens 1, 2, 3); token 0 is CLS, -1 [SEP]
    offsets = [[None, (0, 2), (3, 5), None], [None, (3, 5), (6, 8), (9, 11), None]]
    starts = [np.array([2.0, 0.0, 0.0, 9.0]), np.array([0.0, 0.0, 3.0, 1.0, 9.0])]
    ends = [np.array([2.0, 0.0, 0.0, 9.0]), np.array([0.0, 5.0, 0.0, 4.0, 9.0])]  # [SEP]'s 9.0: never allowed
    decoded = decode(starts, ends, offsets, [0, 0], context, SpanOptions(top_k=4))
    s1, e1 = softmax(starts[0][:3]), softmax(ends[0][:3])  # CLS and the context tokens only
    s2, e2 = softmax(starts[1][:4]), softmax(ends[1][:4])
    # the best pair of window 2 would be cc -> bb (0.78 x 0.72), but it runs backwards
    assert s2[2] * e2[1] > s2[2] * e2[3]
    assert decoded.best.text == "cc dd" and (decoded.best.start, decoded.best.end) == (6, 11)
    assert decoded.best.score == pytest.approx(s2[2] * e2[3])
    every = {
        "aa": s1[1] * e1[1],
        "aa bb": s1[1] * e1[2],
        "bb": max(s1[2] * e1[2], s2[1] * e2[1]),  # the same characters in both windows: the better one
        "bb cc": s2[1] * e2[2],
        "bb cc dd": s2[1] * e2[3],
        "cc": s2[2] * e2[2],
        "cc dd": s2[2] * e2[3],
        "dd": s2[3] * e2[3],
    }
    expected = sorted(every.items(), key=lambda t: -t[1])
    assert expected[0][0] == "cc dd"
    assert [(s.text, pytest.approx(s.score)) for s in decoded.alternatives] == expected[1:5]
    assert decoded.null_score == pytest.approx(min(s1[0] * e1[0], s2[0] * e2[0]))
    assert not decoded.no_answer
    for span in [decoded.best, *decoded.alternatives]:
        assert context[span.start : span.end] == span.text


def test_decode_respects_the_longest_answer_and_no_answer_only_when_trained_for_it():
    context = "aa bb cc"
    offsets = [[None, (0, 2), (3, 5), (6, 8), None]]
    starts, ends = [np.array([8.0, 5.0, 0.0, 0.0, 0.0])], [np.array([8.0, 0.0, 0.0, 5.0, 0.0])]
    short = decode(starts, ends, offsets, [0], context, SpanOptions(max_answer_tokens=2))
    assert short.best.text != "aa bb cc" and all(len(s.text.split()) <= 2 for s in short.alternatives)
    assert decode(starts, ends, offsets, [0], context).best.text == "aa bb cc"
    null = decode(starts, ends, offsets, [0], context, SpanOptions(allow_null=True))
    assert null.no_answer and null.best.text == "" and null.alternatives[0].text == "aa bb cc"
    assert null.best.score == pytest.approx(null.null_score) and null.null_score > null.alternatives[0].score


def test_decode_windows_groups_windows_by_question(tokenizer):
    examples = [example("red"), QAExample("2", "the cat", "the mat is red", None, "row 2")]
    windows = make_windows(tokenizer, examples, max_length=12, stride=2)
    assert windows.example == [0, 0, 0, 1] and windows.starts == []  # no targets without answers
    rng = np.random.default_rng(0)
    logits = [rng.normal(size=len(ids)) for ids in windows.input_ids]
    decoded = decode_windows(logits, logits, windows, [e.context for e in examples])
    assert len(decoded) == 2
    for d, e in zip(decoded, examples, strict=True):
        assert e.context[d.best.start : d.best.end] == d.best.text != ""
