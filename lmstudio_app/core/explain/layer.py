"""The layer the gradient methods attribute to: the output of the model's embeddings module.

Why not the word embeddings: BERT-like models put a LayerNorm right after word + position + type
embeddings, and LayerNorm ignores its input's scale, so grad . word = -grad . (position + type): gradient x
input on the word vectors comes out tiny and with a sign that says little. After the LayerNorm, a positive
score pushes the explained number up (what Captum's `LayerIntegratedGradients` on `<base>.embeddings`
does).

Why a tap: Captum hooks the layer it attributes to, and the models are shared with panels that may run
their own forward on another thread at the same moment. So the model's embeddings module gets a hook that
routes its output through a private identity module, only in the thread that installed it; Captum hooks
that identity module, and everybody else's forwards are untouched.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lmstudio_app.core.errors import UserError


def embeddings_module(model: Any) -> tuple[str, Any]:
    """(dotted path, module) of the module holding the word-embedding table, e.g. bert.embeddings."""
    try:
        word = model.get_input_embeddings()
    except NotImplementedError:
        word = None
    if word is not None:
        for name, module in model.named_modules():
            if any(child is word for child in module.children()):
                if module is model or module is getattr(model, "base_model", None):
                    break  # the table sits in the whole model: no embeddings module to attribute to
                return name, module
    raise UserError(
        f"{type(model).__name__} has no embeddings module around its word embeddings (as BERT-like "
        "models have): its tokens cannot be attributed."
    )


def describe(path: str, module: Any) -> str:
    """What the views and the JSON say is attributed, e.g. "bert.embeddings output (after LayerNorm)"."""
    norms = [type(m).__name__ for m in module.modules() if "norm" in type(m).__name__.lower()]
    return f"{path} output" + (f" (after {norms[0]})" if norms else "")


@contextmanager
def embeddings_tap(model: Any) -> Iterator[tuple[Any, str]]:
    """(identity module to give Captum, description): this thread's embeddings output flows through it."""
    import torch

    path, module = embeddings_module(model)

    class EmbeddingsTap(torch.nn.Module):
        def forward(self, hidden: torch.Tensor) -> torch.Tensor:
            return hidden

    tap = EmbeddingsTap()
    owner = threading.get_ident()

    def route(_module: Any, _args: Any, output: Any) -> Any:
        if threading.get_ident() != owner:
            return None  # another panel's forward: unchanged
        if not isinstance(output, torch.Tensor):
            raise UserError(
                f"{path} returns {type(output).__name__}, not one tensor: cannot attribute to it."
            )
        return tap(output)

    hook = module.register_forward_hook(route)
    try:
        yield tap, describe(path, module)
    finally:
        hook.remove()
