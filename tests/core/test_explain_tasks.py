"""Explaining a word tagger's tag and a QA model's answer, on tiny models trained by the app's own jobs on
rules whose cue is known: IG's completeness against logits computed here, gradient x input against a hook
of our own, the cue word on top, and the same words, tags and answers as the tagger's and QA's predict."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from explain_tasks_helpers import trained_qa, trained_tagger

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.explain.answer import explain_answer
from lmstudio_app.core.explain.attribution import ExplainOptions
from lmstudio_app.core.explain.tagger import explain_tag, find_word
from lmstudio_app.core.models.registry import HEAD_QA, HEAD_TOKENS, ModelRegistry

SENTENCE = "the dog sat in house and the cat ate food"
QUESTION, CONTEXT = "the city", "on the road the man drank tea sat in London day"


@pytest.fixture(scope="module")
def models(tmp_path_factory, tiny_model) -> dict:
    registry = ModelRegistry()
    tagger_dir = trained_tagger(tmp_path_factory, tiny_model("encoder"))
    qa_dir = trained_qa(tmp_path_factory, tiny_model("encoder"))
    return {
        "tagger": registry.load(str(tagger_dir)),
        "qa": registry.load(str(qa_dir)),
        "classifier": registry.load(str(tiny_model("classifier"))),
        "tagger_dir": tagger_dir,
        "qa_dir": qa_dir,
    }


def _logits(loaded, ids, extra) -> torch.Tensor:
    with torch.no_grad():
        out = loaded.model(input_ids=ids, **extra)
    return torch.stack([out.start_logits, out.end_logits], -1) if loaded.has_head(HEAD_QA) else out.logits


def _baseline(loaded, ids: torch.Tensor) -> torch.Tensor:
    """Every token that is not [CLS]/[SEP] replaced by [PAD], written out here."""
    tok = loaded.tokenizer
    keep = torch.tensor([[i in (tok.cls_token_id, tok.sep_token_id) for i in ids[0].tolist()]])
    return torch.where(keep, ids, torch.full_like(ids, tok.pad_token_id))


def _hand_grad_x_input(loaded, ids, extra, pick) -> np.ndarray:
    """(d pick(logits) / d embeddings output) x that output, summed over hidden units: our own hook."""
    seen = {}

    def hook(_module, _args, out):
        seen["out"] = out
        return out

    handle = loaded.model.bert.embeddings.register_forward_hook(hook)
    try:
        out = loaded.model(input_ids=ids, **extra)
        logits = (
            torch.stack([out.start_logits, out.end_logits], -1) if loaded.has_head(HEAD_QA) else out.logits
        )
        (grad,) = torch.autograd.grad(pick(logits), seen["out"])
    finally:
        handle.remove()
    return (grad * seen["out"]).sum(-1)[0].detach().numpy()


def _tagger_input(loaded, text: str):
    words = text.split()
    enc = loaded.tokenizer(words, is_split_into_words=True, return_tensors="pt")
    first = {w: t for t, w in reversed(list(enumerate(enc.word_ids(0)))) if w is not None}
    return (
        enc["input_ids"],
        {"attention_mask": enc["attention_mask"], "token_type_ids": enc["token_type_ids"]},
        first,
    )


def test_the_tagger_is_loaded_with_its_head(models):
    assert models["tagger"].heads == (HEAD_TOKENS,) and models["qa"].heads == (HEAD_QA,)
    assert type(models["tagger"].model).__name__ == "BertForTokenClassification"


def test_ig_of_a_tag_sums_to_its_logit_change(models):
    loaded = models["tagger"]
    result = explain_tag(loaded, SENTENCE, 4, ExplainOptions(steps=48))
    ids, extra, first = _tagger_input(loaded, SENTENCE)
    tag = ["O", "B-LOC"].index(result.target)
    fx = float(_logits(loaded, ids, extra)[0, first[4], tag])
    fb = float(_logits(loaded, _baseline(loaded, ids), extra)[0, first[4], tag])
    assert result.target == "B-LOC" and result.kind == "tag" and result.predicted_label == "B-LOC"
    assert result.output == pytest.approx(fx, abs=1e-5) and result.baseline_output == pytest.approx(
        fb, abs=1e-5
    )
    assert abs(fx - fb) > 1.0  # the check below would be empty otherwise
    total = float(np.sum(result.token_scores))
    assert abs(total - (fx - fb)) <= abs(result.delta) + 1e-5
    assert abs(result.delta) < 0.05 * abs(fx - fb)
    assert result.words.words == SENTENCE.split() and result.focus == (4,)
    assert (
        result.token_scores[0] == 0.0 and result.token_scores[-1] == 0.0
    )  # [CLS]/[SEP] kept in the baseline
    assert result.quantity == "logit of B-LOC at word 5 (house)"


def test_grad_x_input_of_a_tag_equals_a_hand_computed_gradient(models):
    loaded = models["tagger"]
    result = explain_tag(loaded, SENTENCE, 8, ExplainOptions(method="gradxinput", label="B-LOC"))
    ids, extra, first = _tagger_input(loaded, SENTENCE)
    expected = _hand_grad_x_input(loaded, ids, extra, lambda logits: logits[0, first[8], 1])
    np.testing.assert_allclose(result.token_scores, expected, rtol=1e-4, atol=1e-7)
    assert result.target == "B-LOC" and result.predicted_label == "O"  # a chosen tag, not the predicted one
    assert result.delta is None and result.layer == "bert.embeddings output (after LayerNorm)"


@pytest.mark.parametrize(
    "text",
    [SENTENCE, "we ate food in paris with a dog", "in the house a cat sat in a car", "she was in bed"],
)
def test_the_word_before_a_place_is_what_makes_it_a_place(models, text):
    """The rule: a word after "in" is B-LOC whatever it is; IG credits "in", not the word itself."""
    words = text.split()
    for i in [i for i in range(1, len(words)) if words[i - 1] == "in"]:
        result = explain_tag(models["tagger"], text, i, ExplainOptions(steps=32))
        assert result.target == "B-LOC"
        top = int(np.argmax(result.words.scores))
        assert (top, result.words.words[top]) == (i - 1, "in"), list(
            zip(words, result.words.scores, strict=True)
        )
        assert result.words.scores[i - 1] > 0.5 * (result.output - result.baseline_output)


def test_words_and_tags_are_those_of_the_taggers_predict(models):
    from lmstudio_app.core.tokens.predict import tag_text

    text = "The cat sat in Paris, and in London!"
    result = explain_tag(models["tagger"], text, find_word(text, "London"), ExplainOptions(method="rollout"))
    tagged = tag_text(models["tagger_dir"], text)
    assert [(t["word"], t["tag"]) for t in result.details["tags"]] == [
        (t["word"], t["tag"]) for t in tagged.tokens
    ]
    assert [t["score"] for t in result.details["tags"]] == pytest.approx([t["score"] for t in tagged.tokens])
    assert result.details["word"] == {"number": 9, "text": "London", "start": 29, "end": 35}
    assert abs(float(np.sum(result.token_scores)) - 1.0) < 1e-5  # rollout: a distribution into the word


def test_words_are_named_by_number_or_spelling_and_bad_ones_are_one_line(models):
    assert (
        find_word(SENTENCE, "1") == 0 and find_word(SENTENCE, "the") == 0 and find_word(SENTENCE, "CAT") == 7
    )
    for spec, message in [("0", "out of range"), ("11", "1 to 10"), ("zebra", "not a word of the sentence")]:
        with pytest.raises(UserError, match=message) as info:
            find_word(SENTENCE, spec)
        assert "\n" not in str(info.value)
    with pytest.raises(UserError, match="Unknown tag 'LOC'.*O, B-LOC"):
        explain_tag(models["tagger"], SENTENCE, 4, ExplainOptions(label="LOC"))
    with pytest.raises(UserError, match="is not a word tagger"):
        explain_tag(models["classifier"], SENTENCE, 4, ExplainOptions())
    with pytest.raises(UserError, match="no words"):
        find_word(" ", "1")


def test_ig_of_an_answer_start_sums_to_its_logit_change(models):
    from lmstudio_app.core.qa.predict import answer_question

    loaded = models["qa"]
    result = explain_answer(loaded, QUESTION, CONTEXT, ExplainOptions(steps=128))
    enc = loaded.tokenizer(QUESTION, CONTEXT, return_tensors="pt")
    extra = {"attention_mask": enc["attention_mask"], "token_type_ids": enc["token_type_ids"]}
    start = result.tokens.index("london")
    fx = float(_logits(loaded, enc["input_ids"], extra)[0, start, 0])
    fb = float(_logits(loaded, _baseline(loaded, enc["input_ids"]), extra)[0, start, 0])
    assert result.output == pytest.approx(fx, abs=1e-5) and result.baseline_output == pytest.approx(
        fb, abs=1e-5
    )
    assert abs(float(np.sum(result.token_scores)) - (fx - fb)) <= abs(result.delta) + 1e-5
    assert abs(result.delta) < 0.05 * abs(fx - fb)
    answer = result.details["answer"]
    best = answer_question(models["qa_dir"], QUESTION, CONTEXT).best  # the QA predictor's own answer
    assert (
        (answer["text"], answer["start"], answer["end"])
        == (best.text, best.start, best.end)
        == ("London", 37, 43)
    )
    assert answer["score"] == pytest.approx(best.score, rel=1e-5)
    assert result.kind == "answer-start" and result.target == "London" and result.question_words == 2
    assert result.words.words == QUESTION.split() + CONTEXT.split()
    assert [result.words.words[i] for i in result.focus] == ["London"]


def test_grad_x_input_of_an_answer_end_equals_a_hand_computed_gradient(models):
    loaded = models["qa"]
    question, context = "the drink", "the man drank coffee in Paris"
    result = explain_answer(loaded, question, context, ExplainOptions(method="gradxinput"), end=True)
    enc = loaded.tokenizer(question, context, return_tensors="pt")
    extra = {"attention_mask": enc["attention_mask"], "token_type_ids": enc["token_type_ids"]}
    end = result.tokens.index("coffee")
    expected = _hand_grad_x_input(loaded, enc["input_ids"], extra, lambda logits: logits[0, end, 1])
    np.testing.assert_allclose(result.token_scores, expected, rtol=1e-4, atol=1e-7)
    assert result.details["answer"]["text"] == "coffee" and result.kind == "answer-end"


@pytest.mark.parametrize(("asked", "answer"), [("city", "Paris"), ("drink", "milk")])
def test_the_question_decides_the_answer(models, asked, answer):
    context = "a man drank milk on the road in Paris at night"
    data = explain_answer(models["qa"], f"the {asked}", context, ExplainOptions(steps=16)).to_json()
    assert data["answer"]["text"] == answer == context[data["answer"]["start"] : data["answer"]["end"]]
    assert [w["part"] for w in data["words"]] == ["question"] * 2 + ["context"] * len(context.split())
    assert data["kind"] == "answer-start" and data["explained"] == f"answer start logit at {answer.lower()}"


def test_the_questions_noun_gets_the_credit_for_picking_the_city(models):
    """Both a drink and a city are in the context; "city" in the question is what moves the start to the
    city (the model answers the drink when no city is asked for), so IG credits it most of all words."""
    result = explain_answer(
        models["qa"], "the city", "a man drank milk on the road in Paris", ExplainOptions()
    )
    scores = dict(zip(result.words.words[:2], result.words.scores[:2], strict=True))
    assert int(np.argmax(result.words.scores)) == 1 and result.words.words[1] == "city"
    assert scores["city"] > 0.5 * (result.output - result.baseline_output)


def test_qa_inputs_that_cannot_be_explained_are_one_line(models):
    with pytest.raises(UserError, match="both a question and a context"):
        explain_answer(models["qa"], " ", CONTEXT, ExplainOptions())
    with pytest.raises(UserError, match="is not a question-answering model"):
        explain_answer(models["tagger"], QUESTION, CONTEXT, ExplainOptions())
    with pytest.raises(UserError, match="The question is 130 tokens: .* reads 128 at once") as info:
        explain_answer(models["qa"], "the city " * 65, CONTEXT, ExplainOptions())
    assert "\n" not in str(info.value)


def test_a_sentence_past_the_models_limit_is_cut_and_says_so(models):
    text = " ".join(
        ["the cat sat in house"] * 40
    )  # 200 words, one piece each; the tiny BERT reads 128 tokens
    result = explain_tag(models["tagger"], text, 3, ExplainOptions(method="gradxinput"))
    assert result.truncated and len(result.words.words) == 126 and result.target == "O"
    with pytest.raises(UserError, match="Word 150 is past the 126 words"):
        explain_tag(models["tagger"], text, 149, ExplainOptions())


def _pair(n_context: int):
    """[CLS] q [SEP] c0 .. c(n-1) [SEP], each context token one character wide in the context."""
    from lmstudio_app.core.explain.answer import Pair
    from lmstudio_app.core.explain.inputs import Encoded

    offsets = [(0, 0), (0, 1), (0, 0)] + [(2 + 2 * i, 3 + 2 * i) for i in range(n_context)] + [(0, 0)]
    encoded = Encoded(None, {}, [], [], [], offsets, False, "q " + " ".join("abcdefghij"[:n_context]))
    return Pair(encoded, context_at=2, question_words=1, context_tokens=list(range(3, 3 + n_context)), cls=0)


def test_spans_are_decoded_as_the_qa_predictor_decodes_them():
    from lmstudio_app.core.explain.answer import best_spans

    pair = _pair(5)
    starts = np.array([2.0, 0, 0, 0, 5.0, 0, 1.0, 0, 0])
    ends = np.array([2.0, 0, 0, 0, 0, 0, 5.0, 0, 0])
    best = best_spans(pair, starts, ends, {})[0]
    assert (best.first, best.last, best.start, best.end) == (4, 6, 2, 7)  # "b c d" of the context "a b c d e"
    short = best_spans(pair, starts, ends, {"max_answer_tokens": 2})
    assert all(span.last - span.first < 2 for span in short) and (short[0].first, short[0].last) == (6, 6)
    no_answer = best_spans(pair, starts + np.eye(9)[0] * 9, ends + np.eye(9)[0] * 9, {"unanswerable": True})
    assert (no_answer[0].first, no_answer[0].last) == (0, 0) and len(no_answer) == 5
    assert (
        best_spans(pair, starts + np.eye(9)[0] * 9, ends + np.eye(9)[0] * 9, {})[0].first == 4
    )  # not trained for it
