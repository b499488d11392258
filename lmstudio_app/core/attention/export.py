"""Attention to files, the same for the command line and the Attention panel: raw weights and bertviz.

Every file is written atomically (core/jsonio): a failed export never leaves half a file behind.
Images (PNG/SVG) are drawn by the UI's widgets, so they live in ui/attention/.
"""

from __future__ import annotations

import json
from pathlib import Path

from lmstudio_app.core.attention.bertviz import VIEWS, bertviz_html, seq2seq_bertviz_html
from lmstudio_app.core.attention.extract import AttentionResult
from lmstudio_app.core.attention.seq2seq import Seq2SeqAttention
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.jsonio import write_text

BERTVIZ_MAX_TOKENS = 128  # bertviz is unusable above this (a 512-token page is 100 MB)


def too_long_for_bertviz(n_tokens: int) -> str | None:
    """Why bertviz cannot draw this many tokens, or None when it can."""
    if n_tokens <= BERTVIZ_MAX_TOKENS:
        return None
    return (
        f"bertviz cannot draw {n_tokens} tokens: choose at most {BERTVIZ_MAX_TOKENS} with the token range "
        "(the native views show every token)."
    )


def write_weights_json(result: AttentionResult | Seq2SeqAttention, path: Path | str) -> Path:
    """{"model", "tokens", "causal", "attentions"[layer][head][query][key]}, or for an encoder-decoder
    {"model", "target_from", "encoder_tokens", "decoder_tokens", "encoder_attentions", "decoder_attentions",
    "cross_attentions"}."""
    path = Path(path)
    write_text(path, json.dumps(result.to_json(), ensure_ascii=False))
    return path


def write_bertviz_page(
    result: AttentionResult | Seq2SeqAttention, path: Path | str, views: tuple[str, ...] = VIEWS
) -> Path:
    """A standalone offline page with bertviz's views (its JavaScript inlined); an encoder-decoder gets
    bertviz's encoder-decoder views (encoder, decoder and cross-attention)."""
    if isinstance(result, Seq2SeqAttention):
        n, page = max(result.encoder.n_tokens, result.decoder.n_tokens), seq2seq_bertviz_html
    else:
        n, page = result.n_tokens, bertviz_html
    problem = too_long_for_bertviz(n)
    if problem:
        raise UserError(problem)
    path = Path(path)
    write_text(path, page(result, views))
    return path
