"""Why the model output this: token attributions with Captum, and attention rollout, for one text.

What is explained: a classifier's class, a masked-LM's candidate at the mask, or (for a model that
predicts the next token: causal LMs, and encoder-decoders given a source) the next token; each as a
log-probability, or the difference of two for "why A rather than B". A word tagger's tag (tagger.py) and
an extractive-QA answer's start or end (answer.py) are explained as logits, in the same `Explanation`.

Methods: Integrated Gradients at the output of the model's embeddings module, after its LayerNorm, or at
the first block's input where the model has no such module (`LayerIntegratedGradients`; the baseline is
that tensor for the baseline input), gradient x input at the same layer (`LayerGradientXActivation`), and
attention rollout (methods.py). Scores are per token (the attribution summed over the hidden dimensions)
and per whole word (its pieces summed); positive pushes the explained number up, negative pushes it down.
`layer.py` says why this layer and how it is hooked without touching other panels' forwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lmstudio_app.core.explain import inputs as ins
from lmstudio_app.core.explain import next_token as nt
from lmstudio_app.core.explain.methods import ExplainOptions, Scored, check_options, score_tokens
from lmstudio_app.core.explain.words import Words, group_words
from lmstudio_app.core.models.family import adapter_for
from lmstudio_app.core.tasks import TaskState, ensure_state

# |delta| above this share of |f(x) - f(baseline)| (and above DELTA_FLOOR) gets a warning.
DELTA_WARN = 0.05
DELTA_FLOOR = 0.01
ANSWER_KINDS = ("answer-start", "answer-end")


@dataclass(frozen=True)
class Explanation:
    """Token and word scores for one text and one explained number, with what the views report."""

    model: str
    method: str
    kind: str  # "class", "candidate", "next-token", "tag", "answer-start" or "answer-end"
    target: str  # explained class, candidate, next token or tag, "A vs B", or the answer
    tokens: list[str]
    token_scores: np.ndarray  # float64, one per token (specials included)
    words: Words
    predicted_label: str
    predicted_score: float
    ranking: list[tuple[str, float]]  # every class or tag (or the top candidates) with probability
    output: float  # the explained number for the text, f(x)
    baseline_output: float | None = None  # f(baseline), IG only
    delta: float | None = None  # IG's convergence delta: sum(attributions) - (f(x) - f(baseline))
    steps: int | None = None
    truncated: bool = False
    special: list[bool] = field(default_factory=list)
    layer: str | None = None  # what IG and gradient x input attribute to (layer.describe); None for rollout
    details: dict[str, Any] = field(default_factory=dict)  # what the JSON adds: token ids, word, answer
    focus: tuple[int, ...] = ()  # the words whose output is explained: the tagged word, the answer's words
    question_words: int = 0  # QA: the first words are the question's, the rest the context's

    @property
    def quantity(self) -> str:
        """The explained number in words, e.g. "log P(next = cat)" or "logit of B-LOC at word 4 (Paris)"."""
        if self.kind == "tag":
            word = self.details["word"]
            return f"logit of {self.target} at word {word['number']} ({word['text']})"
        if self.kind in ANSWER_KINDS:
            which = "start" if self.kind == "answer-start" else "end"
            return f"answer {which} logit at {self.details['answer'][f'{which}_token']}"
        a, _, b = self.target.partition(" vs ")
        nxt = "next = " if self.kind == "next-token" else ""
        return f"log P({nxt}{a})" + (f" - log P({nxt}{b})" if b else "")

    @property
    def delta_is_large(self) -> bool:
        if self.delta is None or self.baseline_output is None:
            return False
        gap = abs(self.output - self.baseline_output)
        return abs(self.delta) > max(DELTA_FLOOR, DELTA_WARN * gap)

    def delta_warning(self) -> str:
        """One actionable line when IG's sum misses f(x) - f(baseline) by much; "" otherwise."""
        if not self.delta_is_large:
            return ""
        return (
            f"Convergence delta {self.delta:+.3g} is large for a change of "
            f"{self.output - (self.baseline_output or 0.0):+.3g}: use more steps (now {self.steps}, try "
            f"{min(4 * (self.steps or 32), 1024)})."
        )

    def to_json(self) -> dict[str, Any]:
        """The CLI's --json object."""
        value: dict[str, Any] = {
            "model": self.model,
            "predicted": {"label": self.predicted_label, "score": self.predicted_score},
            "label": self.target,
            "kind": self.kind,
            "explained": self.quantity,
            "method": self.method,
            "tokens": [
                {"token": t, "score": float(s)} for t, s in zip(self.tokens, self.token_scores, strict=True)
            ],
            "words": [self._word_json(i) for i in range(len(self.words.words))],
            "delta": self.delta,
            "output": self.output,
            **self.details,
        }
        if self.baseline_output is not None:
            value["baseline_output"] = self.baseline_output
        if self.layer is not None:
            value["layer"] = self.layer
        return value

    def _word_json(self, i: int) -> dict[str, Any]:
        value: dict[str, Any] = {"word": self.words.words[i], "score": float(self.words.scores[i])}
        if self.kind in ANSWER_KINDS:
            value["part"] = "question" if i < self.question_words else "context"
        return value


def _ranking(loaded: Any, logits: Any, target: ins.Target, top: int = 5) -> list[tuple[str, float]]:
    """Probabilities the user sees beside the attribution: every class, or the top candidates."""
    if target.kind == "class":
        probs = logits[0].float().softmax(-1).tolist()
        return list(zip(ins.labels_of(loaded.model), probs, strict=True))
    probs = logits[0, target.position].float().softmax(-1)
    values, ids = probs.topk(top)
    if target.kind == nt.KIND:
        tokens = [nt.token_text(loaded.tokenizer, i) for i in ids.tolist()]
    else:
        tokens = loaded.tokenizer.convert_ids_to_tokens(ids.tolist())
    return [(str(t), float(v)) for t, v in zip(tokens, values.tolist(), strict=True)]


def explain(
    loaded: Any, text: str, options: ExplainOptions, *, state: TaskState | None = None
) -> Explanation:
    """Explain `loaded`'s output for `text` (a prompt or source for models that predict the next token)
    with one method (see ExplainOptions)."""
    state = ensure_state(state)
    check_options(options)
    state.progress(0.02, "Tokenizing")
    adapter = adapter_for(loaded.model, loaded.tokenizer) if loaded.model is not None else None
    if adapter is not None and adapter.can_generate:
        encoded = nt.encode_prompt(loaded, adapter, text)
        target = nt.next_token_target(loaded, encoded, options.candidate, options.versus)
    else:
        encoded, target = _class_or_candidate(loaded, text, options)
    state.raise_if_stopped()
    scored = score_tokens(loaded, encoded, target, options, state)
    ranking = _ranking(loaded, scored.logits, target)
    best = max(ranking, key=lambda r: r[1])
    name = best[0] if target.name == "predicted" else target.name  # grad x input's per-input class
    words = group_words(encoded.text, scored.token_scores, encoded.word_ids, encoded.offsets, encoded.tokens)
    heading = Heading(options.method, target.kind, name, best, ranking)
    return from_scored(loaded, encoded, scored, heading, words, target.details)


def _class_or_candidate(loaded: Any, text: str, options: ExplainOptions) -> tuple[ins.Encoded, ins.Target]:
    """A classifier's class (the predicted one by default) or a masked-LM's candidate at the mask."""
    import torch

    ins.check_model(loaded, options.candidate)
    encoded = ins.encode(loaded, text, mask=options.candidate is not None)
    if options.candidate is not None:
        return encoded, ins.candidate_target(loaded, encoded, options.candidate, options.versus)
    index = ins.resolve_label(loaded.model, options.label)
    if index is None and options.method != "gradxinput":  # IG needs one fixed class along its path
        with torch.no_grad():
            logits = ins.output_logits(loaded.model(input_ids=encoded.ids, **encoded.extra))
        index = int(logits[0].argmax())
    return encoded, ins.class_target(index, loaded.model)


@dataclass(frozen=True)
class Heading:
    """What an explanation says above its scores: the method, what was explained, what was predicted."""

    method: str
    kind: str
    target: str
    predicted: tuple[str, float]
    ranking: list[tuple[str, float]]


def from_scored(
    loaded: Any,
    encoded: ins.Encoded,
    scored: Scored,
    heading: Heading,
    words: Words,
    details: dict[str, Any],
    *,
    focus: tuple[int, ...] = (),
    question_words: int = 0,
) -> Explanation:
    """The `Explanation` of one method's scores (every kind builds its result here)."""
    return Explanation(
        model=loaded.name,
        method=heading.method,
        kind=heading.kind,
        target=heading.target,
        tokens=encoded.tokens,
        token_scores=scored.token_scores,
        words=words,
        predicted_label=heading.predicted[0],
        predicted_score=float(heading.predicted[1]),
        ranking=heading.ranking,
        output=scored.output,
        baseline_output=scored.baseline_output,
        delta=scored.delta,
        steps=scored.steps,
        truncated=encoded.truncated,
        special=encoded.special,
        layer=scored.layer,
        details=details,
        focus=focus,
        question_words=question_words,
    )
