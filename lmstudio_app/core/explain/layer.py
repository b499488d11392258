"""The layer the gradient methods attribute to: the embeddings module's output, else the first block's input.

Why not the word embeddings: BERT-like models put a LayerNorm right after word + position + type
embeddings, and LayerNorm ignores its input's scale, so grad . word = -grad . (position + type): gradient x
input on the word vectors comes out tiny and with a sign that says little. After the LayerNorm, a positive
score pushes the explained number up (what Captum's `LayerIntegratedGradients` on `<base>.embeddings`
does). GPT-2, Llama, T5 and BART keep their tables directly in the base model (or its encoder), with no
embeddings module around them; there the same point in the network is the input of the first transformer
block (GPT-2: wte + wpe; Llama: the token embeddings alone), found through the family adapter.

Why a tap: Captum hooks the layer it attributes to, and the models are shared with panels that may run
their own forward on another thread at the same moment. So the model gets a hook that routes that tensor
through a private identity module, only in the thread that installed it; Captum hooks that identity
module, and everybody else's forwards are untouched.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.family import FamilyAdapter


@dataclass(frozen=True)
class AttributionPoint:
    """Where the attributed tensor is taken: a module's output, or its first input (a block's states)."""

    path: str
    module: Any
    at_input: bool
    description: str  # what the views and the JSON say, e.g. "transformer.h.0 input (wte + wpe)"


def _embeddings_module(model: Any) -> tuple[str, Any] | None:
    try:
        word = model.get_input_embeddings()
    except NotImplementedError:
        word = None
    if word is not None:
        for name, module in model.named_modules():
            if any(child is word for child in module.children()):
                if module is model or module is getattr(model, "base_model", None):
                    return None  # the table sits in the whole model: no embeddings module to attribute to
                return name, module
    return None


def embeddings_module(model: Any) -> tuple[str, Any]:
    """(dotted path, module) of the module holding the word-embedding table, e.g. bert.embeddings."""
    found = _embeddings_module(model)
    if found is None:
        raise UserError(
            f"{type(model).__name__} has no embeddings module around its word embeddings (as BERT-like "
            "models have): its tokens cannot be attributed."
        )
    return found


def describe(path: str, module: Any) -> str:
    """What the views and the JSON say is attributed, e.g. "bert.embeddings output (after LayerNorm)"."""
    norms = [type(m).__name__ for m in module.modules() if "norm" in type(m).__name__.lower()]
    return f"{path} output" + (f" (after {norms[0]})" if norms else "")


def _describe_input(path: str, reader: Any, blocks: Any) -> str:
    """E.g. "transformer.h.0 input (from wte + wpe)": the embedding tables the reader holds outside its
    blocks, in its own names (in registration order; a norm or scale between them is not named)."""
    import torch

    inside = {id(m) for m in blocks.modules()}
    tables = [
        name.rsplit(".", 1)[-1]
        for name, m in reader.named_modules()
        if isinstance(m, torch.nn.Embedding) and id(m) not in inside
    ]
    return f"{path}.0 input" + (f" (from {' + '.join(tables)})" if tables else "")


def attribution_point(adapter: FamilyAdapter) -> AttributionPoint:
    """The embeddings module's output where the model has one (BERT-likes), else the input of the first
    transformer block that reads the tokens; a model with neither gets one line."""
    model = adapter.model
    found = _embeddings_module(model)
    if found is not None:
        return AttributionPoint(found[0], found[1], False, describe(*found))
    stack = adapter.input_blocks()
    if stack is None:
        raise UserError(
            f"{type(model).__name__} cannot be explained yet: it has neither an embeddings module (as BERT-like "
            "models have) nor a list of transformer blocks whose input could be attributed."
        )
    path, blocks = stack
    return AttributionPoint(
        f"{path}.0", blocks[0], True, _describe_input(path, adapter.token_reader(), blocks)
    )


@contextmanager
def attribution_tap(adapter: FamilyAdapter) -> Iterator[tuple[Any, str]]:
    """(identity module to give Captum, description): this thread's attributed tensor flows through it."""
    import torch

    point = attribution_point(adapter)

    class AttributionTap(torch.nn.Module):
        def forward(self, hidden: torch.Tensor) -> torch.Tensor:
            return hidden

    tap = AttributionTap()
    owner = threading.get_ident()

    def route_output(_module: Any, _args: Any, output: Any) -> Any:
        if threading.get_ident() != owner:
            return None  # another panel's forward: unchanged
        if not isinstance(output, torch.Tensor):
            raise UserError(
                f"{point.path} returns {type(output).__name__}, not one tensor: cannot attribute to it."
            )
        return tap(output)

    def route_input(_module: Any, args: tuple, kwargs: dict) -> Any:
        if threading.get_ident() != owner:
            return None
        if args and isinstance(args[0], torch.Tensor):
            return (tap(args[0]), *args[1:]), kwargs
        if isinstance(kwargs.get("hidden_states"), torch.Tensor):
            return args, {**kwargs, "hidden_states": tap(kwargs["hidden_states"])}
        raise UserError(f"{point.path} is not given its hidden states as a tensor: cannot attribute to it.")

    if point.at_input:
        hook = point.module.register_forward_pre_hook(route_input, with_kwargs=True)
    else:
        hook = point.module.register_forward_hook(route_output)
    try:
        yield tap, point.description
    finally:
        hook.remove()
