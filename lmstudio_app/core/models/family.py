"""Model families (masked LM, causal LM, encoder-decoder, bare encoder) and one adapter per family.

The views ask the adapter how to build inputs, where the next-token logits come from, which attention
tensors exist and what the LM head and final norm are, instead of branching on the family themselves.
The family comes from transformers' own auto mappings and the config's is_decoder/is_encoder_decoder
flags, never from a list of model names, so every model class transformers knows is recognised.
"""

from __future__ import annotations

from typing import Any

from lmstudio_app.core.errors import UserError

MASKED, CAUSAL, SEQ2SEQ, ENCODER = "masked", "causal", "seq2seq", "encoder"
# The hub's pipeline tag for what a model of each family does (`models --json` lists it as "task").
TASKS = {
    MASKED: "fill-mask",
    ENCODER: "feature-extraction",
    CAUSAL: "text-generation",
    SEQ2SEQ: "text2text-generation",
}
# Attribute names (not model names) under which transformers' decoders keep their last norm.
_FINAL_NORMS = ("ln_f", "norm", "final_layer_norm", "final_layernorm", "layer_norm")


def _mappings() -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str]]:
    """transformers' seq2seq, causal, masked-LM and pre-training mappings (model_type -> class name)."""
    from transformers.models.auto import modeling_auto as auto

    return (
        auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES,
        auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        auto.MODEL_FOR_PRETRAINING_MAPPING_NAMES,
    )


def _decide(key: str, tables: list[set[str]], *, is_decoder: bool, is_encoder_decoder: bool = True) -> str:
    """The family of `key` (a class name or a model type) in the mappings' sets. The pre-training mapping
    also holds GPT-2 and T5, so it only counts for what no decoder mapping claims; a class in both the
    causal and the masked-LM mappings (BERT's model type, XLM's class) is causal only as a decoder."""
    seq2seq, causal, masked, pretraining = tables
    if key in seq2seq and is_encoder_decoder:
        return SEQ2SEQ
    if key in causal and (is_decoder or key not in masked):
        return CAUSAL
    return MASKED if key in masked or key in pretraining else ENCODER


def _by_class(name: str, is_decoder: bool) -> str:
    return _decide(name, [set(m.values()) for m in _mappings()], is_decoder=is_decoder)


def _by_type(model_type: str, *, is_decoder: bool, is_encoder_decoder: bool) -> str:
    """For a config that names no architecture: its model type's mappings and flags."""
    tables = [set(m) for m in _mappings()]
    return _decide(model_type, tables, is_decoder=is_decoder, is_encoder_decoder=is_encoder_decoder)


def family_of(model_or_config: Any) -> str:
    """MASKED, CAUSAL, SEQ2SEQ or ENCODER for a loaded model (by its class), a config or a config.json dict
    (by its architectures, else its model type and flags)."""
    from transformers import PreTrainedModel

    if isinstance(model_or_config, PreTrainedModel):
        config = model_or_config.config
        return _by_class(type(model_or_config).__name__, bool(getattr(config, "is_decoder", False)))
    config = model_or_config if isinstance(model_or_config, dict) else model_or_config.to_dict()
    is_decoder = bool(config.get("is_decoder", False))
    archs = config.get("architectures") or []
    if archs:
        return _by_class(archs[0], is_decoder)
    return _by_type(
        str(config.get("model_type", "")),
        is_decoder=is_decoder,
        is_encoder_decoder=bool(config.get("is_encoder_decoder", False)),
    )


def require_encoder_base(model_or_config: Any, name: str, job: str) -> None:
    """A UserError unless the model is an encoder or a masked LM: a job that trains an encoder-only head
    (a classifier, a tagger, QA, more masked-LM pre-training) on a decoder would silently keep its causal
    attention (BERT as a decoder) or have no such head at all (T5, GPT-2 for QA)."""
    family = family_of(model_or_config)
    if family in (CAUSAL, SEQ2SEQ):
        kind = "a causal LM" if family == CAUSAL else "an encoder-decoder"
        raise UserError(
            f"{name} is {kind} (text generation); {job} starts from an encoder or a masked LM, such as the "
            "embedded all-MiniLM-L6-v2 or minilm-mlm."
        )


def _named_child(module: Any, names: tuple[str, ...]) -> Any:
    return next((getattr(module, n) for n in names if getattr(module, n, None) is not None), None)


class FamilyAdapter:
    """What a view needs from a model, whatever its family; this base serves masked LMs and encoders."""

    family = ENCODER
    can_generate = False
    attention_kinds: tuple[str, ...] = ("self",)
    causal_mask = False

    def __init__(self, model: Any, tokenizer: Any, family: str | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        if family is not None:
            self.family = family

    @property
    def name(self) -> str:
        return type(self.model).__name__

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    @property
    def mask_token(self) -> str | None:
        return self.tokenizer.mask_token if self.family == MASKED else None

    @property
    def context_length(self) -> int | None:
        """The most tokens the model reads at once (its position table), None for relative positions."""
        limit = getattr(self.model.config, "max_position_embeddings", None)
        tok = getattr(self.tokenizer, "model_max_length", None) or 0
        if limit and 0 < tok < limit:
            return int(tok)
        return int(limit) if limit else None

    def encode(self, text: str, *, source: str | None = None) -> dict[str, Any]:
        """The model's inputs for `text`, with the tokenizer's own special tokens, on the model's device."""
        return self._on_device(self.tokenizer(text, return_tensors="pt"))

    def _on_device(self, inputs: Any) -> dict[str, Any]:
        return {k: v.to(self.device) for k, v in dict(inputs).items()}

    def check_can_generate(self) -> None:
        """A UserError (one line, naming what to load) unless the model can predict the next token."""
        if not self.can_generate:
            raise self._cannot_generate()

    def _cannot_generate(self) -> UserError:
        kind = "a masked LM" if self.family == MASKED else "an encoder"
        return UserError(
            f"{self.name} is {kind}, so it cannot predict the next token or generate text: load a causal LM "
            "(such as the embedded minilm-clm or gpt2) or an encoder-decoder (such as t5-small)."
        )

    def next_token_logits(self, inputs: dict[str, Any]) -> Any:
        """float32 logits (vocab,) for the token after the inputs."""
        raise self._cannot_generate()

    def lm_head(self) -> Any:
        """The module that turns the last hidden states into vocabulary logits (the whole head, e.g.
        BERT's transform + decoder), found as the model's child that holds the output embeddings."""
        out = self.model.get_output_embeddings()
        if out is None:
            return None
        return next((c for c in self.model.children() if any(m is out for m in c.modules())), out)

    def final_norm(self) -> Any:
        """The norm after the last layer (pre-LN decoders such as GPT-2 and Llama), None for post-LN models."""
        return None

    def token_reader(self) -> Any:
        """The part of the model that reads `input_ids` (the tokens an attribution is spread over)."""
        return self.model.base_model

    def input_blocks(self) -> tuple[str, Any] | None:
        """(dotted path in the model, module list) of the transformer blocks that read the input tokens: the
        first list of modules inside `token_reader` (GPT-2's transformer.h, Llama's model.layers), or None."""
        import torch

        reader = self.token_reader()
        blocks = next((m for m in reader.modules() if isinstance(m, torch.nn.ModuleList) and len(m)), None)
        if blocks is None:
            return None
        path = next(name for name, m in self.model.named_modules(remove_duplicate=False) if m is blocks)
        return path, blocks


class CausalAdapter(FamilyAdapter):
    """Decoder-only LMs: the prompt (after the tokenizer's BOS, without a trailing EOS/SEP) continues."""

    family = CAUSAL
    can_generate = True
    causal_mask = True

    def encode(self, text: str, *, source: str | None = None) -> dict[str, Any]:
        import torch

        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        bos = self.tokenizer.bos_token_id
        if bos is not None and (not ids or ids[0] != bos):
            ids = [bos, *ids]
        if not ids:
            raise UserError(
                f"{self.name}'s tokenizer has no beginning-of-sequence token: type a prompt first."
            )
        tensor = torch.tensor([ids], device=self.device)
        return {"input_ids": tensor, "attention_mask": torch.ones_like(tensor)}

    def next_token_logits(self, inputs: dict[str, Any]) -> Any:
        import torch

        with torch.inference_mode():
            return self.model(**inputs).logits[0, -1].float()

    def final_norm(self) -> Any:
        base = self.model.base_model
        return _named_child(base, _FINAL_NORMS) or _named_child(getattr(base, "decoder", None), _FINAL_NORMS)


class Seq2SeqAdapter(CausalAdapter):
    """Encoder-decoders: the source goes to the encoder, the text is the decoder's prefix after its start
    token; without a source, the text is the source and the decoder starts empty."""

    family = SEQ2SEQ
    attention_kinds = ("encoder", "decoder", "cross")
    causal_mask = True

    def encode(self, text: str, *, source: str | None = None) -> dict[str, Any]:
        import torch

        if source is None:
            source, text = text, ""
        enc = self.tokenizer(source, return_tensors="pt")
        prefix = self.tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
        decoder = torch.tensor([[self.decoder_start_id, *prefix]])
        return self._on_device(
            {
                "input_ids": enc["input_ids"],
                "attention_mask": enc["attention_mask"],
                "decoder_input_ids": decoder,
            }
        )

    @property
    def decoder_start_id(self) -> int:
        """The token the decoder starts from, read as generate reads it (generation config first)."""
        start = self.model.generation_config.decoder_start_token_id
        return self.model.config.decoder_start_token_id if start is None else start

    def final_norm(self) -> Any:
        return _named_child(self.model.get_decoder(), _FINAL_NORMS)

    def token_reader(self) -> Any:
        return self.model.get_encoder()


def adapter_for(model: Any, tokenizer: Any) -> FamilyAdapter:
    """The adapter for this model's family."""
    family = family_of(model)
    if family == CAUSAL:
        return CausalAdapter(model, tokenizer)
    if family == SEQ2SEQ:
        return Seq2SeqAdapter(model, tokenizer)
    return FamilyAdapter(model, tokenizer, family)
