"""Why a word tagger gave a word its tag: that tag's logit at the word's first piece, attributed to every
word of the sentence (a tag decided by the word before it should credit that word).

The text is split and tokenized as the tagger's own predictions are (core/models/word_input), so word N
here is word N of `predict`, with the tag `predict` shows whenever the sentence fits one window. The tag's
logit is explained rather than its log-probability, so Integrated Gradients' scores add up to
logit(x) - logit(baseline) for that one tag, untouched by how the other tags move.
"""

from __future__ import annotations

from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.explain import inputs as ins
from lmstudio_app.core.explain.attribution import Explanation, Heading, from_scored
from lmstudio_app.core.explain.methods import ExplainOptions, check_options, score_tokens
from lmstudio_app.core.explain.words import group_words
from lmstudio_app.core.models.registry import HEAD_TOKENS
from lmstudio_app.core.models.word_input import words_of
from lmstudio_app.core.tasks import TaskState, ensure_state

KIND = "tag"


def sentence_words(text: str) -> list[str]:
    """The words a tagger sees in `text`, in order (what a word picker offers)."""
    return [w for w, _, _ in words_of(text)]


def find_word(text: str, spec: str) -> int:
    """The index of the word the user named: a number N is the Nth word (1 = the first), else the first
    word spelled so (exactly, then ignoring case)."""
    words = sentence_words(text)
    if not words:
        raise UserError("Type a sentence to tag: it has no words.")
    spec = spec.strip()
    if spec.isdigit():
        number = int(spec)
        if not 1 <= number <= len(words):
            raise UserError(
                f"Word {number} is out of range: the sentence has {len(words)} words (1 to {len(words)})."
            )
        return number - 1
    for same in (lambda w: w == spec, lambda w: w.lower() == spec.lower()):
        hits = [i for i, w in enumerate(words) if same(w)]
        if hits:
            return hits[0]
    raise UserError(f"{spec!r} is not a word of the sentence; its words are: {' '.join(words)}.")


def encode_words(loaded: Any, text: str) -> ins.Encoded:
    """The sentence as pre-split words (truncated to the model's limit); each piece keeps its whole word's
    characters as its offsets, so the words come back exactly as typed."""
    tokenizer = loaded.tokenizer
    spans = words_of(text)
    if not spans:
        raise UserError("Type a sentence to tag: it has no words.")
    words = [w for w, _, _ in spans]
    limit = ins.token_limit(loaded.model)
    full_length = len(tokenizer(words, is_split_into_words=True)["input_ids"])
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=limit, return_tensors="pt")
    word_ids = list(enc.word_ids(0))
    return ins.Encoded(
        ids=enc["input_ids"].to(loaded.device),
        extra=ins.extra_inputs(loaded, enc),
        tokens=tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist()),
        special=[w is None for w in word_ids],
        word_ids=word_ids,
        offsets=[(0, 0) if w is None else spans[w][1:] for w in word_ids],
        truncated=full_length > limit,
        text=text,
    )


def tag_target(position: int, tag: int, name: str) -> ins.Target:
    """The logit of tag `tag` at token `position`."""

    def score(logits: Any) -> Any:
        return logits[:, position, tag].float()

    return ins.Target(kind=KIND, name=name, score=score, position=position)


def explain_tag(
    loaded: Any, text: str, word: int, options: ExplainOptions, *, state: TaskState | None = None
) -> Explanation:
    """Explain the tag of word `word` (0-based) of `text`: the predicted one, or `options.label`."""
    import torch

    state = ensure_state(state)
    check_options(options)
    if loaded.model is None or not loaded.has_head(HEAD_TOKENS):
        raise UserError(
            f"{loaded.name} is not a word tagger: load a folder made by finetune --task tokens to explain a tag."
        )
    state.progress(0.02, "Tokenizing")
    encoded = encode_words(loaded, text)
    first_piece = {w: t for t, w in reversed(list(enumerate(encoded.word_ids))) if w is not None}
    if word not in first_piece:
        raise UserError(
            f"Word {word + 1} is past the {len(first_piece)} words {loaded.name} reads at once: "
            "shorten the text or pick an earlier word."
        )
    with torch.no_grad():
        logits = ins.output_logits(loaded.model(input_ids=encoded.ids, **encoded.extra))
    probs = logits[0].float().softmax(-1)
    names = ins.labels_of(loaded.model)
    index = ins.resolve_label(loaded.model, options.label, "tag")
    position = first_piece[word]
    if index is None:
        index = int(probs[position].argmax())
    state.raise_if_stopped()
    scored = score_tokens(loaded, encoded, tag_target(position, index, names[index]), options, state)
    ranking = list(zip(names, probs[position].tolist(), strict=True))
    words = group_words(text, scored.token_scores, encoded.word_ids, encoded.offsets, encoded.tokens)
    present = sorted(first_piece)  # the words with pieces, in the order `words` lists them
    best = probs[[first_piece[w] for w in present]].max(-1)
    tags = [
        {"number": n + 1, "word": w, "tag": names[int(i)], "score": float(p)}
        for n, w, i, p in zip(present, words.words, best.indices.tolist(), best.values.tolist(), strict=True)
    ]
    start, end = encoded.offsets[position]
    details = {
        "word": {"number": word + 1, "text": text[start:end], "start": start, "end": end},
        "tags": tags,
    }
    heading = Heading(options.method, KIND, names[index], max(ranking, key=lambda r: r[1]), ranking)
    return from_scored(loaded, encoded, scored, heading, words, details, focus=(present.index(word),))
