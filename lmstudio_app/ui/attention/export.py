"""Exporting what the attention panel shows: PNG/SVG of the view on screen, bertviz HTML, raw JSON."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QWidget

from lmstudio_app.core.attention.bertviz import bertviz_html
from lmstudio_app.core.attention.extract import AttentionResult
from lmstudio_app.core.errors import UserError
from lmstudio_app.ui.attention.bertviz_page import BERTVIZ_MAX_TOKENS
from lmstudio_app.ui.widgets.heatmap import export_png, export_svg

FILTERS = {
    "png": "PNG image (*.png)",
    "svg": "SVG image (*.svg)",
    "html": "Web page (*.html)",
    "json": "JSON (*.json)",
}


def export_attention(
    kind: str, path: Path | str, widget: QWidget, result: AttentionResult, view: AttentionResult
) -> Path:
    """Write `widget` (png, svg), the bertviz page of `view` (html) or `result`'s weights (json)."""
    path = Path(path)
    if kind == "png":
        export_png(widget, path)  # at its size on screen
    elif kind == "svg":
        export_svg(widget, path, title=f"Attention of {result.model}")
    elif kind == "html":
        if view.n_tokens > BERTVIZ_MAX_TOKENS:
            raise UserError(
                f"bertviz cannot draw {view.n_tokens} tokens: choose at most {BERTVIZ_MAX_TOKENS} "
                "with the token range, then export again."
            )
        path.write_text(bertviz_html(view), encoding="utf-8")
    elif kind == "json":
        path.write_text(json.dumps(result.to_json(), ensure_ascii=False), encoding="utf-8")
    else:
        raise UserError(f"Unknown export format {kind!r}: use png, svg, html or json.")
    return path
