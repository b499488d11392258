"""The three ways to score the tokens of one input for one explained number, written once for every kind.

Integrated Gradients and gradient x input attribute at the layer `layer.py` chooses (the embeddings output,
else the first block's input); attention rollout follows the attention into the explained position. Every
explanation (a class, a candidate at the mask, a next token, a word's tag, an answer's start or end)
arrives here as an `Encoded` input and a `Target`, so the completeness check, the progress and the
cancel points are the same for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.explain import inputs as ins
from lmstudio_app.core.explain.layer import attribution_tap
from lmstudio_app.core.models.attention_weights import eager_attention, rollout
from lmstudio_app.core.models.family import adapter_for
from lmstudio_app.core.tasks import TaskState

METHODS = ("ig", "gradxinput", "rollout")
METHOD_NAMES = {
    "ig": "Integrated Gradients",
    "gradxinput": "Gradient x input",
    "rollout": "Attention rollout",
}


@dataclass(frozen=True)
class ExplainOptions:
    """What to explain and how; `candidate` switches from a class to a masked-LM candidate. For models
    that predict the next token, `candidate` names that token (None: the predicted one)."""

    method: str = "ig"
    steps: int = 32
    baseline: str = "pad"
    internal_batch_size: int = 32
    label: str | None = None  # class (or a tagger's tag) name or index; None = the predicted one
    candidate: str | None = None
    versus: str | None = None


@dataclass(frozen=True)
class Scored:
    """One method's per-token scores and the numbers that qualify them."""

    token_scores: np.ndarray  # float64, one per token (specials included)
    logits: Any  # the model's output logits for the input (batch of one), for the predictions shown beside
    output: float  # the explained number for the input, f(x)
    baseline_output: float | None = None  # f(baseline), IG only
    delta: float | None = None  # IG's convergence delta: sum(attributions) - (f(x) - f(baseline))
    steps: int | None = None
    layer: str | None = None  # what the gradient methods attribute to; None for rollout


def check_options(options: ExplainOptions) -> None:
    if options.method not in METHODS:
        raise UserError(f"Unknown method {options.method!r}: use one of {', '.join(METHODS)}.")
    if options.steps < 1 or options.internal_batch_size < 1:
        raise UserError("Steps and internal batch size must be at least 1.")


def score_tokens(
    loaded: Any, encoded: ins.Encoded, target: ins.Target, options: ExplainOptions, state: TaskState
) -> Scored:
    """Run `options.method` on `encoded` for `target` (options are checked by `check_options`)."""
    run = {"ig": _integrated_gradients, "gradxinput": _grad_x_input, "rollout": _rollout}[options.method]
    return run(loaded, encoded, target, options, state)


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
) -> Scored:
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
    return Scored(
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
) -> Scored:
    from captum.attr import LayerGradientXActivation

    forward, seen = _forward_fn(loaded, encoded, target, state, 1)
    with attribution_tap(adapter_for(loaded.model, loaded.tokenizer)) as (tap, layer):
        attributions = LayerGradientXActivation(forward, tap).attribute(
            encoded.ids, additional_forward_args=tuple(encoded.extra.values())
        )
    scores = attributions[0].float().sum(-1).detach().cpu().numpy().astype(np.float64)
    logits = seen["logits"]
    state.progress(1.0, "Attributions ready")
    return Scored(scores, logits, output=float(target.score(logits)[0]), layer=layer)


def _rollout(
    loaded: Any, encoded: ins.Encoded, target: ins.Target, options: ExplainOptions, state: TaskState
) -> Scored:
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
    return Scored(scores, logits, output=float(target.score(logits)[0]))
