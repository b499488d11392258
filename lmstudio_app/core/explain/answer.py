"""Why an extractive-QA model picked its answer: the start logit at the answer's first token (or the end
logit at its last), attributed to the question's words and the context's words.

The input is [CLS] question [SEP] context [SEP], truncated to the model's limit (the context is cut, not
the question). The answer is decoded as the QA predictor does: P(start) x P(end), each a softmax over
the context's tokens and [CLS], spans running forward and at most `max_answer_tokens` long; a model
trained with unanswerable questions answers nothing when [CLS]'s score beats the best span, and then its
start (or end) logit at [CLS] is what is explained. Logits, not probabilities, for the same reason as a
tagger's tag (tagger.py): Integrated Gradients' scores then add up to logit(x) - logit(baseline).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.explain import inputs as ins
from lmstudio_app.core.explain.attribution import Explanation, Heading, from_scored
from lmstudio_app.core.explain.methods import ExplainOptions, check_options, score_tokens
from lmstudio_app.core.explain.words import group_words
from lmstudio_app.core.jsonio import read_json
from lmstudio_app.core.models.registry import HEAD_QA
from lmstudio_app.core.tasks import TaskState, ensure_state

QA_META = "qa.json"  # written beside a QA model by finetune --task qa: max answer length, unanswerable
START, END = "answer-start", "answer-end"
TOP_SPANS = 5


@dataclass(frozen=True)
class Span:
    """A candidate answer: its first and last token, its characters in the context, P(start) x P(end)."""

    first: int
    last: int
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Pair:
    """Question + context as one input; `context_at` is where the context starts in `encoded.text`."""

    encoded: ins.Encoded
    context_at: int
    question_words: int
    context_tokens: list[int]
    cls: int


def encode_pair(loaded: Any, question: str, context: str) -> Pair:
    """Tokenize the pair; the words are read from one text, question + " " + context, so that the
    question's words come first and keep their own spelling."""
    tokenizer = loaded.tokenizer
    if not question.strip() or not context.strip():
        raise UserError("Give both a question and a context (the passage the answer is taken from).")
    if not getattr(tokenizer, "is_fast", False):
        raise UserError(f"{loaded.name} has only a slow tokenizer: explaining an answer needs a fast one.")
    limit = ins.token_limit(loaded.model)
    asked = len(tokenizer(question, add_special_tokens=False)["input_ids"])
    if asked + tokenizer.num_special_tokens_to_add(pair=True) >= limit:
        raise UserError(
            f"The question is {asked} tokens: {loaded.name} reads {limit} at once, question and context "
            "together; shorten the question."
        )
    full_length = len(tokenizer(question, context)["input_ids"])
    enc = tokenizer(
        question,
        context,
        truncation="only_second",
        max_length=limit,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    sequence = enc.sequence_ids(0)
    pieces = enc.word_ids(0)
    question_ids = {w for w, s in zip(pieces, sequence, strict=True) if s == 0}
    after = 1 + max(question_ids, default=-1)  # the context's word ids follow the question's
    context_at = len(question) + 1
    word_ids, offsets = [], []
    for (a, b), w, s in zip(enc["offset_mapping"][0].tolist(), pieces, sequence, strict=True):
        shift = 0 if s == 0 else context_at
        word_ids.append(None if s is None else w + (after if s == 1 else 0))
        offsets.append((a + shift, b + shift) if s is not None else (0, 0))
    ids = enc["input_ids"][0].tolist()
    encoded = ins.Encoded(
        ids=enc["input_ids"].to(loaded.device),
        extra=ins.extra_inputs(loaded, enc),
        tokens=tokenizer.convert_ids_to_tokens(ids),
        special=[s is None for s in sequence],
        word_ids=word_ids,
        offsets=offsets,
        truncated=full_length > limit,
        text=f"{question} {context}",
    )
    context_tokens = [t for t, s in enumerate(sequence) if s == 1]
    cls = ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in ids else 0
    return Pair(encoded, context_at, len(question_ids), context_tokens, cls)


def _softmax(x: np.ndarray, allowed: list[int]) -> np.ndarray:
    out = np.zeros_like(x, dtype=np.float64)
    z = x[allowed].astype(np.float64)
    e = np.exp(z - z.max())
    out[allowed] = e / e.sum()
    return out


def best_spans(pair: Pair, start_logits: np.ndarray, end_logits: np.ndarray, meta: dict) -> list[Span]:
    """The best spans, best first; a lone [CLS] span (first == last == cls) means "no answer"."""
    allowed = [pair.cls, *pair.context_tokens]
    p_start, p_end = _softmax(start_logits, allowed), _softmax(end_logits, allowed)
    longest = int(meta.get("max_answer_tokens") or 30)
    offsets = pair.encoded.offsets
    found = []
    for s in pair.context_tokens:
        for e in pair.context_tokens:
            if s <= e < s + longest:
                start, end = offsets[s][0] - pair.context_at, offsets[e][1] - pair.context_at
                found.append(Span(s, e, start, end, float(p_start[s] * p_end[e])))
    found.sort(key=lambda span: -span.score)
    null = Span(pair.cls, pair.cls, 0, 0, float(p_start[pair.cls] * p_end[pair.cls]))
    if not found or (meta.get("unanswerable") and null.score > found[0].score):
        return [null, *found[: TOP_SPANS - 1]]
    return found[:TOP_SPANS]


def answer_meta(loaded: Any) -> dict:
    """The QA run's settings saved beside the model (empty for a folder made elsewhere)."""
    source = getattr(loaded, "source", None)
    path = Path(source.path) / QA_META if source is not None else None
    return read_json(path) if path is not None and path.is_file() else {}


def answer_target(kind: str, position: int, name: str) -> ins.Target:
    column = 0 if kind == START else 1

    def score(logits: Any) -> Any:
        return logits[:, position, column].float()

    return ins.Target(kind=kind, name=name, score=score, position=position)


def explain_answer(
    loaded: Any,
    question: str,
    context: str,
    options: ExplainOptions,
    *,
    end: bool = False,
    state: TaskState | None = None,
) -> Explanation:
    """Explain the predicted answer's start logit (its end logit with `end`) for `question` on `context`."""
    import torch

    state = ensure_state(state)
    check_options(options)
    if loaded.model is None or not loaded.has_head(HEAD_QA):
        raise UserError(
            f"{loaded.name} is not a question-answering model: load a folder made by finetune --task qa."
        )
    state.progress(0.02, "Tokenizing")
    pair = encode_pair(loaded, question, context)
    encoded = pair.encoded
    with torch.no_grad():
        logits = (
            ins.output_logits(loaded.model(input_ids=encoded.ids, **encoded.extra))[0].float().cpu().numpy()
        )
    spans = best_spans(pair, logits[:, 0], logits[:, 1], answer_meta(loaded))
    best = spans[0]
    no_answer = best.first == pair.cls and best.last == pair.cls
    text = "" if no_answer else context[best.start : best.end]
    name = "(no answer)" if no_answer else text
    kind = END if end else START
    position = best.last if end else best.first
    state.raise_if_stopped()
    scored = score_tokens(loaded, encoded, answer_target(kind, position, name), options, state)
    words = group_words(encoded.text, scored.token_scores, encoded.word_ids, encoded.offsets, encoded.tokens)
    ranking = [
        ("(no answer)" if s.first == s.last == pair.cls else context[s.start : s.end], s.score) for s in spans
    ]
    answer = {
        "text": text,
        "start": best.start,
        "end": best.end,
        "score": best.score,
        "no_answer": no_answer,
        "start_token": encoded.tokens[best.first],
        "end_token": encoded.tokens[best.last],
    }
    focus = tuple(sorted({words.word_of_token[t] for t in range(best.first, best.last + 1)} - {None}))
    heading = Heading(options.method, kind, name, (name, best.score), ranking)
    return from_scored(
        loaded,
        encoded,
        scored,
        heading,
        words,
        {"answer": answer},
        focus=() if no_answer else focus,
        question_words=pair.question_words,
    )
