"""Where the primer's pieces live inside each BERT-like architecture, and one way to encode a text.

The Inside views compute every formula from the model's own weights, so they need its modules by role:
W^Q, W^K, W^V, W^O, the two LayerNorms, the feed-forward block, the position table, the masked-LM head.
BERT, RoBERTa, ELECTRA and the families that keep BERT's module names (CamemBERT, XLM-R, MiniLM...) share
one layout; DistilBERT has its own names. Models with relative positions (DeBERTa, MPNet) add a bias to
q·k that the primer's formula has no place for, and ALBERT shares one layer: those get a clear message.
"""

from __future__ import annotations

import inspect
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.family import CAUSAL, SEQ2SEQ

MASK_SPELLINGS = re.compile(r"\[MASK\]|<mask>", re.IGNORECASE)
MLM_EXAMPLES = "e.g. the embedded minilm-mlm or bert-base-uncased"


@dataclass(frozen=True)
class LayerParts:
    """One encoder layer by role: Z = LN1(X + MultiHead(X)), X' = LN2(Z + W_2·act(W_1·Z))."""

    query: Any  # nn.Linear W^Q (all heads side by side)
    key: Any
    value: Any
    output: Any  # W^O
    norm1: Any  # nn.LayerNorm after attention + residual
    ffn_in: Any  # W_1
    activation: Callable[[Any], Any]
    ffn_out: Any  # W_2
    norm2: Any
    n_heads: int
    head_dim: int


def base_model(model: Any) -> Any:
    return getattr(model, "base_model", model)


def bert_layer(layer: Any) -> LayerParts | None:
    attention = getattr(layer, "attention", None)
    self_att, out = getattr(attention, "self", None), getattr(attention, "output", None)
    if not all(hasattr(self_att, n) for n in ("query", "key", "value", "num_attention_heads")):
        return None
    return LayerParts(
        self_att.query,
        self_att.key,
        self_att.value,
        out.dense,
        out.LayerNorm,
        layer.intermediate.dense,
        layer.intermediate.intermediate_act_fn,
        layer.output.dense,
        layer.output.LayerNorm,
        int(self_att.num_attention_heads),
        int(self_att.attention_head_size),
    )


def _distilbert_layer(layer: Any) -> LayerParts | None:
    att = getattr(layer, "attention", None)
    if not all(hasattr(att, n) for n in ("q_lin", "k_lin", "v_lin", "out_lin")):
        return None
    return LayerParts(
        att.q_lin,
        att.k_lin,
        att.v_lin,
        att.out_lin,
        layer.sa_layer_norm,
        layer.ffn.lin1,
        layer.ffn.activation,
        layer.ffn.lin2,
        layer.output_layer_norm,
        int(att.n_heads),
        int(att.attention_head_size),
    )


def layers(model: Any, name: str = "This model") -> list[LayerParts]:
    """Every encoder layer's parts, or a UserError for layouts the primer's formulas do not describe."""
    base = base_model(model)
    found: list[LayerParts | None] = []
    encoder = getattr(base, "encoder", None) or getattr(base, "transformer", None)
    for layer in getattr(encoder, "layer", None) or []:
        found.append(bert_layer(layer) or _distilbert_layer(layer))
    if not found or any(p is None for p in found):
        kind = getattr(model.config, "model_type", "?")
        raise UserError(
            f"{name} ({kind}) does not have BERT's layer layout (separate W^Q, W^K, W^V and no position bias): "
            "the Inside views work on BERT, RoBERTa, ELECTRA, DistilBERT, MiniLM and their relatives."
        )
    return found  # type: ignore[return-value]


def mlm_head(model: Any) -> Callable[[Any], Any] | None:
    """hidden states -> vocabulary logits, the model's own masked-LM head; None when it has none."""
    if model is None or model.get_output_embeddings() is None:
        return None
    for path in ("cls.predictions", "lm_head", "predictions"):  # BERT-likes, RoBERTa-likes, ALBERT
        head: Any = model
        for part in path.split("."):
            head = getattr(head, part, None)
        if callable(head):
            return head
    if hasattr(model, "generator_predictions"):  # ELECTRA's generator
        return lambda h: model.generator_lm_head(model.generator_predictions(h))
    if hasattr(model, "vocab_projector"):  # DistilBERT
        return lambda h: model.vocab_projector(
            model.vocab_layer_norm(model.activation(model.vocab_transform(h)))
        )
    return None


def require_mlm(loaded: Any, what: str) -> Callable[[Any], Any]:
    check_loaded(loaded)  # a decoder's LM head is no masked-LM head: say what it is first
    head = mlm_head(loaded.model)
    if head is None:
        raise UserError(
            f"{loaded.name} has no masked-LM head, which {what} needs: load a masked-LM model ({MLM_EXAMPLES})."
        )
    if loaded.tokenizer.mask_token_id is None:
        raise UserError(f"{loaded.name}'s tokenizer has no mask token, so {what} cannot run.")
    return head


def check_loaded(loaded: Any, *, decoders: bool = False) -> None:
    """A UserError unless the model is in memory and (for the encoder-only views) not a decoder."""
    if loaded.model is None or loaded.tokenizer is None:
        raise UserError(f"{loaded.name} has been unloaded: load it again in the Models tab.")
    if not decoders and loaded.family in (CAUSAL, SEQ2SEQ):
        kind = "a causal LM" if loaded.family == CAUSAL else "an encoder-decoder"
        raise UserError(
            f"{loaded.name} is {kind}; this view follows an encoder and takes encoders and masked LMs "
            f"({MLM_EXAMPLES}); Self-attention{' and Layer lens' if loaded.family == CAUSAL else ''} take it."
        )


@dataclass(frozen=True)
class Encoded:
    """A text as the model reads it: ids, readable tokens, and the tensors its base model accepts."""

    ids: list[int]
    tokens: list[str]
    special: list[bool]
    inputs: dict[str, Any]  # on the model's device; keys the base model's forward accepts

    def with_ids(self, ids: list[int]) -> Encoded:
        """The same input (segments, attention) with other token ids, e.g. after masking."""
        import torch

        tensor = torch.tensor([ids], device=self.inputs["input_ids"].device)
        return Encoded(list(ids), self.tokens, self.special, {**self.inputs, "input_ids": tensor})


def model_text(text: str, tokenizer: Any) -> str:
    """`[MASK]` and `<mask>` both work, whatever the model's own spelling of its mask token."""
    mask = tokenizer.mask_token
    return MASK_SPELLINGS.sub(lambda _m: mask, text) if mask else text


def encode(loaded: Any, text: str, text_b: str | None = None) -> Encoded:
    """Tokenize `text` (and a second sentence) for `loaded`; a UserError if empty or too long."""
    check_loaded(loaded)
    if not text or not text.strip():
        raise UserError("The text is empty: type a sentence.")
    tokenizer, model = loaded.tokenizer, loaded.model
    text_b = model_text(text_b, tokenizer) if text_b and text_b.strip() else None
    enc = tokenizer(model_text(text, tokenizer), text_b, return_tensors="pt")
    ids = enc["input_ids"][0].tolist()
    limit = int(getattr(model.config, "max_position_embeddings", 512) or 512)
    if getattr(base_model(model).embeddings, "padding_idx", None) is not None:  # RoBERTa starts at pad + 1
        limit -= base_model(model).embeddings.padding_idx + 1
    if len(ids) > limit:
        raise UserError(
            f"The text is {len(ids)} tokens long; {loaded.name} reads at most {limit}. Shorten it."
        )
    accepted = set(inspect.signature(base_model(model).forward).parameters)  # DistilBERT: no token types
    device = next(model.parameters()).device
    inputs = {
        k: v.to(device)
        for k, v in enc.items()
        if k in ("input_ids", "token_type_ids", "attention_mask") and k in accepted
    }
    specials = set(tokenizer.all_special_ids)
    tokens = [t or f"[id {i}]" for t, i in zip(tokenizer.convert_ids_to_tokens(ids), ids, strict=True)]
    return Encoded(ids, tokens, [i in specials for i in ids], inputs)


def token_text(tokenizer: Any, token_id: int) -> str:
    """A vocabulary entry as a reader sees it (RoBERTa's 'Ġ' and SentencePiece's '▁' turned to text)."""
    token = tokenizer.convert_ids_to_tokens(int(token_id)) or f"[id {token_id}]"
    return tokenizer.convert_tokens_to_string([token]).strip() or token


def hidden_states(loaded: Any, enc: Encoded) -> tuple[Any, ...]:
    """(embeddings, after layer 0, ..., after the last layer), each (1, n, hidden), in inference mode."""
    import torch

    with torch.inference_mode():
        out = base_model(loaded.model)(**enc.inputs, output_hidden_states=True)
    return tuple(out.hidden_states)


@contextmanager
def heads_off(model: Any, off: set[tuple[int, int]]) -> Iterator[None]:
    """Zero the chosen (layer, head) slices of the concatenated heads just before W^O.

    transformers v5 has no `head_mask` any more; a pre-hook on W^O does the same. The model may be shared
    with a panel running its own forward on another thread: the hook acts on this thread's passes only.
    """
    parts = layers(model)
    me = threading.get_ident()
    hooks = []
    for layer_index in sorted({layer for layer, _ in off}):
        heads = sorted(h for layer, h in off if layer == layer_index)
        part = parts[layer_index]

        def zero(_module: Any, args: tuple, heads: list[int] = heads, part: LayerParts = part) -> Any:
            if threading.get_ident() != me:
                return None
            x = args[0].clone()
            view = x.view(*x.shape[:-1], part.n_heads, part.head_dim)
            view[..., heads, :] = 0
            return (x, *args[1:])

        hooks.append(part.output.register_forward_pre_hook(zero))
    try:
        yield
    finally:
        for hook in hooks:
            hook.remove()
