"""An encoder-decoder's three attentions (encoder, masked decoder, cross) from one eager forward pass.

The decoder reads a target: the one the user typed, or by default the model's own greedy output for the
source (transformers' `generate`, a few tokens), so that the attention shown is the one the model used to
write what it writes. Either way the decoder's input is its start token followed by the target as the
tokenizer writes a target (its end-of-sequence token included) — the very sequence `generate` returns —
so typing the greedy output back gives the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lmstudio_app.core.attention.result import MAX_TOKENS, AttentionResult
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.attention_weights import eager_attention
from lmstudio_app.core.tasks import TaskState, ensure_state

PARTS = ("encoder", "decoder", "cross")
GREEDY_NEW_TOKENS = 20  # enough to see a reply's attention; bertviz stays quick


@dataclass(frozen=True)
class Seq2SeqAttention:
    """Encoder self-attention, decoder (masked) self-attention and cross-attention of one source/target."""

    model: str
    encoder: AttentionResult  # source x source
    decoder: AttentionResult  # target x target, causal
    cross: AttentionResult  # target rows x source columns (key_tokens)
    target_from: str  # "greedy" (the model's own output) or "typed"

    def part(self, name: str) -> AttentionResult:
        if name not in PARTS:
            raise UserError(f"Unknown attention {name!r}: choose from {', '.join(PARTS)}.")
        return getattr(self, name)

    def to_json(self) -> dict[str, Any]:
        """Tokens and weights [layer][head][row][column] of all three, rows being queries."""
        return {
            "model": self.model,
            "target_from": self.target_from,
            "encoder_tokens": list(self.encoder.tokens),
            "decoder_tokens": list(self.decoder.tokens),
            "encoder_attentions": self.encoder.attentions.tolist(),
            "decoder_attentions": self.decoder.attentions.tolist(),
            "cross_attentions": self.cross.attentions.tolist(),
        }


def _stack(tensors: Any) -> np.ndarray:
    import torch

    return torch.stack([a[0] for a in tensors]).float().cpu().numpy()


def _decoder_ids(loaded: Any, adapter: Any, source_inputs: dict[str, Any], target: str | None) -> Any:
    """The decoder's input ids (1, m): start token + the typed target, or the greedy output."""
    import torch

    if target is not None and target.strip():
        ids = loaded.tokenizer(text_target=target)["input_ids"][: MAX_TOKENS - 1]
        return torch.tensor([[adapter.decoder_start_id, *ids]], device=loaded.device)
    with torch.inference_mode():
        return loaded.model.generate(
            **source_inputs, max_new_tokens=GREEDY_NEW_TOKENS, do_sample=False, num_beams=1
        )


def extract_seq2seq(
    loaded: Any, adapter: Any, source: str, target: str | None = None, *, state: TaskState | None = None
) -> Seq2SeqAttention:
    """One eager forward on `source` (encoder) and the target (decoder) -> all three attentions."""
    import torch

    state = ensure_state(state)
    model, tokenizer = loaded.model, loaded.tokenizer
    state.progress(0.1, "Tokenizing")
    full = tokenizer(source, truncation=False, verbose=False)["input_ids"]
    enc = tokenizer(source, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    source_inputs = {k: enc[k].to(loaded.device) for k in ("input_ids", "attention_mask")}
    if target is None or not target.strip():
        state.progress(0.2, "Writing the model's greedy output as the target")
    decoder_ids = _decoder_ids(loaded, adapter, source_inputs, target)
    state.raise_if_stopped()
    state.progress(0.5, "Running the model with eager attention")
    with eager_attention(model), torch.inference_mode():
        out = model(**source_inputs, decoder_input_ids=decoder_ids, output_attentions=True)
    state.raise_if_stopped()
    if not out.cross_attentions or not out.decoder_attentions or not out.encoder_attentions:
        raise UserError(f"{loaded.name} returns no attention weights (its attention cannot run eagerly).")
    specials = set(tokenizer.all_special_ids)
    src_ids, tgt_ids = enc["input_ids"][0].tolist(), decoder_ids[0].tolist()
    src_tokens, tgt_tokens = (
        tokenizer.convert_ids_to_tokens(src_ids),
        tokenizer.convert_ids_to_tokens(tgt_ids),
    )
    src_special = np.array([i in specials for i in src_ids], dtype=bool)
    tgt_special = np.array([i in specials for i in tgt_ids], dtype=bool)
    truncated = len(full) > MAX_TOKENS
    encoder = AttentionResult(
        loaded.name, src_tokens, src_special, _stack(out.encoder_attentions), truncated=truncated
    )
    decoder = AttentionResult(
        loaded.name, tgt_tokens, tgt_special, _stack(out.decoder_attentions), causal=True
    )
    cross = AttentionResult(
        loaded.name,
        tgt_tokens,
        tgt_special,
        _stack(out.cross_attentions),
        truncated=truncated,
        key_tokens=src_tokens,
        key_special=src_special,
    )
    state.progress(1.0, "Attention ready")
    typed = target is not None and bool(target.strip())
    return Seq2SeqAttention(loaded.name, encoder, decoder, cross, "typed" if typed else "greedy")
