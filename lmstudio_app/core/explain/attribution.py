"""Why the model output this: token attributions with Captum, and attention rollout, for one text.

What is explained: a classifier's class, a masked-LM's candidate at the mask, or (for a model that
predicts the next token: causal LMs, and encoder-decoders given a source) the next token; each as a
log-probability, or the difference of two for "why A rather than B".

Methods: Integrated Gradients at the output of the model's embeddings module, after its LayerNorm, or at
the first block's input where the model has no such module (`LayerIntegratedGradients`; the baseline is
that tensor for the baseline input), gradient x input at the same layer (`LayerGradientXActivation`), and
attention rollout. Scores are per token (the attribution summed over the hidden dimensions) and per whole
word (its pieces summed); positive pushes the explained log-probability up, negative pushes it down.
`layer.py` says why this layer and how it is hooked without touching other panels' forwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.explain import inputs as ins
from lmstudio_app.core.explain import next_token as nt
from lmstudio_app.core.explain.layer import attribution_tap
from lmstudio_app.core.explain.words import Words, group_words
from lmstudio_app.core.models.attention_weights import eager_attention, rollout
from lmstudio_app.core.models.family import adapter_for
from lmstudio_app.core.tasks import TaskState, ensure_state

METHODS = ("ig", "gradxinput", "rollout")
METHOD_NAMES = {
    "ig": "Integrated Gradients",
    "gradxinput": "Gradient x input",
    "rollout": "Attention rollout",
}
# |delta| above this share of |f(x) - f(baseline)| (and above DELTA_FLOOR) gets a warning.
DELTA_WARN = 0.05
DELTA_FLOOR = 0.01


@dataclass(frozen=True)
class ExplainOptions:
    """What to explain and how; `candidate` switches from a class to a masked-LM candidate. For models
    that predict the next token, `candidate` names that token (None: the predicted one)."""

    method: str = "ig"
    steps: int = 32
    baseline: str = "pad"
    internal_batch_size: int = 32
    label: str | None = None  # class name or index; None = the predicted class
    candidate: str | None = None
    versus: str | None = None


@dataclass(frozen=True)
class Explanation:
    """Token and word scores for one text and one explained number, with what the views report."""

    model: str
    method: str
    kind: str  # "class", "candidate" or "next-token"
    target: str  # explained class, candidate or next token, or "A vs B"
    tokens: list[str]
    token_scores: np.ndarray  # float64, one per token (specials included)
    words: Words
    predicted_label: str
    predicted_score: float
    ranking: list[tuple[str, float]]  # every class (or the top candidates at the mask) with probability
    output: float  # the explained number for the text, f(x)
    baseline_output: float | None = None  # f(baseline), IG only
    delta: float | None = None  # IG's convergence delta: sum(attributions) - (f(x) - f(baseline))
    steps: int | None = None
    truncated: bool = False
    special: list[bool] = field(default_factory=list)
    layer: str | None = None  # what IG and gradient x input attribute to (layer.describe); None for rollout
    details: dict[str, Any] = field(default_factory=dict)  # a next token's {"target", "versus"} ids

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
            "method": self.method,
            "tokens": [
                {"token": t, "score": float(s)} for t, s in zip(self.tokens, self.token_scores, strict=True)
            ],
            "words": [
                {"word": w, "score": float(s)}
                for w, s in zip(self.words.words, self.words.scores, strict=True)
            ],
            "delta": self.delta,
            "output": self.output,
            **self.details,
        }
        if self.baseline_output is not None:
            value["baseline_output"] = self.baseline_output
        if self.layer is not None:
            value["layer"] = self.layer
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
    if options.method not in METHODS:
        raise UserError(f"Unknown method {options.method!r}: use one of {', '.join(METHODS)}.")
    if options.steps < 1 or options.internal_batch_size < 1:
        raise UserError("Steps and internal batch size must be at least 1.")
    state.progress(0.02, "Tokenizing")
    adapter = adapter_for(loaded.model, loaded.tokenizer) if loaded.model is not None else None
    if adapter is not None and adapter.can_generate:
        encoded = nt.encode_prompt(loaded, adapter, text)
        target = nt.next_token_target(loaded, encoded, options.candidate, options.versus)
    else:
        encoded, target = _class_or_candidate(loaded, text, options)
    state.raise_if_stopped()
    run = {"ig": _integrated_gradients, "gradxinput": _grad_x_input, "rollout": _rollout}[options.method]
    return run(loaded, encoded, target, options, state)


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


def _result(
    loaded: Any,
    encoded: ins.Encoded,
    target: ins.Target,
    method: str,
    scores: np.ndarray,
    logits: Any,
    **kw: Any,
) -> Explanation:
    ranking = _ranking(loaded, logits, target)
    best = max(ranking, key=lambda r: r[1])
    name = target.name
    if name == "predicted":  # grad x input chose each input's predicted class inside the forward
        name = best[0]
    words = group_words(encoded.text, scores, encoded.word_ids, encoded.offsets, encoded.tokens)
    return Explanation(
        model=loaded.name,
        method=method,
        kind=target.kind,
        target=name,
        tokens=encoded.tokens,
        token_scores=scores,
        words=words,
        predicted_label=best[0],
        predicted_score=float(best[1]),
        ranking=ranking,
        truncated=encoded.truncated,
        special=encoded.special,
        details=target.details,
        **kw,
    )


def _forward_fn(loaded: Any, encoded: ins.Encoded, target: ins.Target, state: TaskState, calls: int):
    """Captum's forward: ids (batch, n) plus the extra tensors -> the explained number per row."""
    keys = list(encoded.extra)
    seen = {"n": 0, "logits": None}

    def forward(ids: Any, *extra: Any) -> Any:
        state.raise_if_stopped()
        out = loaded.model(input_ids=ids, **dict(zip(keys, extra, strict=True)))
        logits = ins.output_logits(out)
        seen["n"] += 1
        seen["logits"] = logits.detach()
        state.progress(min(0.95, 0.1 + 0.85 * seen["n"] / calls), "Computing attributions")
        return target.score(logits)

    return forward, seen


def _integrated_gradients(
    loaded: Any, encoded: ins.Encoded, target: ins.Target, options: ExplainOptions, state: TaskState
) -> Explanation:
    import torch
    from captum.attr import LayerIntegratedGradients

    base = ins.baseline_ids(loaded, encoded, options.baseline)
    with torch.no_grad():  # f(x), f(baseline) and the probabilities, in one batch of two
        both = {k: v.expand(2, -1) for k, v in encoded.extra.items()}
        logits = ins.output_logits(loaded.model(input_ids=torch.cat([encoded.ids, base]), **both))
        fx, fb = target.score(logits).tolist()
    batches = -(-options.steps // options.internal_batch_size)
    forward, _seen = _forward_fn(loaded, encoded, target, state, batches + 2)
    with attribution_tap(adapter_for(loaded.model, loaded.tokenizer)) as (tap, layer):
        attributions, delta = LayerIntegratedGradients(forward, tap).attribute(
            encoded.ids,
            baselines=base,
            additional_forward_args=tuple(encoded.extra.values()),
            n_steps=options.steps,
            internal_batch_size=options.internal_batch_size,
            return_convergence_delta=True,
        )
    scores = attributions[0].float().sum(-1).detach().cpu().numpy().astype(np.float64)
    state.progress(1.0, "Attributions ready")
    return _result(
        loaded,
        encoded,
        target,
        "ig",
        scores,
        logits[:1],
        output=float(fx),
        baseline_output=float(fb),
        delta=float(delta.reshape(-1)[0]),
        steps=options.steps,
        layer=layer,
    )


def _grad_x_input(
    loaded: Any, encoded: ins.Encoded, target: ins.Target, options: ExplainOptions, state: TaskState
) -> Explanation:
    from captum.attr import LayerGradientXActivation

    forward, seen = _forward_fn(loaded, encoded, target, state, 1)
    with attribution_tap(adapter_for(loaded.model, loaded.tokenizer)) as (tap, layer):
        attributions = LayerGradientXActivation(forward, tap).attribute(
            encoded.ids, additional_forward_args=tuple(encoded.extra.values())
        )
    scores = attributions[0].float().sum(-1).detach().cpu().numpy().astype(np.float64)
    logits = seen["logits"]
    state.progress(1.0, "Attributions ready")
    output = float(target.score(logits)[0])
    return _result(loaded, encoded, target, "gradxinput", scores, logits, output=output, layer=layer)


def _rollout(
    loaded: Any, encoded: ins.Encoded, target: ins.Target, options: ExplainOptions, state: TaskState
) -> Explanation:
    import torch

    if adapter_for(loaded.model, loaded.tokenizer).attention_kinds != ("self",):
        raise UserError(
            f"Attention rollout follows one stack of self-attention; {loaded.name} also reads its source "
            "through cross-attention, so rollout cannot explain it yet (the gradient methods can)."
        )
    state.progress(0.3, "Running the model with eager attention")
    with eager_attention(loaded.model), torch.inference_mode():
        out = loaded.model(input_ids=encoded.ids, **encoded.extra, output_attentions=True)
    if not getattr(out, "attentions", None):
        raise UserError(f"{loaded.name} returns no attention weights (its attention cannot run eagerly).")
    attentions = torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()
    scores = rollout(attentions)[target.position]
    logits = ins.output_logits(out)
    state.progress(1.0, "Rollout ready")
    return _result(loaded, encoded, target, "rollout", scores, logits, output=float(target.score(logits)[0]))
