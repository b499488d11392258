"""Exporting what the attention panel shows: PNG/SVG of the view on screen, bertviz HTML, raw JSON."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

from lmstudio_app.core.attention.export import write_bertviz_page, write_weights_json
from lmstudio_app.core.attention.extract import AttentionResult
from lmstudio_app.core.attention.seq2seq import Seq2SeqAttention
from lmstudio_app.core.errors import UserError
from lmstudio_app.ui.widgets.heatmap import export_png, export_svg

FILTERS = {
    "png": "PNG image (*.png)",
    "svg": "SVG image (*.svg)",
    "html": "Web page (*.html)",
    "json": "JSON (*.json)",
}


def export_attention(
    kind: str,
    path: Path | str,
    widget: QWidget,
    result: AttentionResult | Seq2SeqAttention,
    view: AttentionResult | Seq2SeqAttention,
) -> Path:
    """Write `widget` (png, svg), the bertviz page of `view` (html) or `result`'s weights (json); an
    encoder-decoder's `result` and `view` are its Seq2SeqAttention (all three attentions)."""
    path = Path(path)
    if kind == "png":
        export_png(widget, path)  # at its size on screen
    elif kind == "svg":
        export_svg(widget, path, title=f"Attention of {result.model}")
    elif kind == "html":
        write_bertviz_page(view, path)  # the same page and limits as `lmstudio-app attention -o x.html`
    elif kind == "json":
        write_weights_json(result, path)
    else:
        raise UserError(f"Unknown export format {kind!r}: use png, svg, html or json.")
    return path
