"""Standalone, offline bertviz pages (head view, model view) from an AttentionResult, or bertviz's
encoder-decoder views (encoder, decoder and cross-attention) from a Seq2SeqAttention.

bertviz 1.4.1 emits a `<script src=...cdnjs...>` for require.js and asks require.js to fetch d3 and
jQuery from the same CDN, so its views stay blank offline. We build the same views with the three
libraries inlined from `resources/js/` (fetched from npm at set-up time): d3 and jQuery are loaded
first as plain globals and then registered as named require.js modules, which is what bertviz's own
view code asks for. The weights travel once, as base64 float32, and are unpacked in the page.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lmstudio_app.core.attention.extract import AttentionResult
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.paths import resources_dir

JS_FILES = ("require.js", "d3.min.js", "jquery.min.js")
VIEWS = ("head", "model")
PAIR_FILTERS = [
    "All",
    "Sentence A -> Sentence A",
    "Sentence B -> Sentence B",
    "Sentence A -> Sentence B",
    "Sentence B -> Sentence A",
]
SEQ2SEQ_FILTERS = {"encoder": "Encoder", "decoder": "Decoder", "cross": "Cross"}  # bertviz's own names
ASSETS_HELP = (
    "bertviz's JavaScript is missing from {folder}: run `bash packaging/dev.sh run` once (it fetches it from npm), "
    "or run `npm install --prefix build/npm d3@5.7.0 jquery@2.2.4 requirejs@2.3.6` and copy require.js, "
    "d3.min.js and jquery.min.js into that folder."
)

_SHIM = """
define('d3', [], function () { return window.d3; });
define('jquery', [], function () { return window.jQuery; });
window.lmAttention = (function () {
  var cache = {};
  function unpack(id) {  // base64 float32 [layers, heads, n, n] -> nested arrays, as bertviz expects
    if (cache[id]) return cache[id];
    var spec = window.lmAttentionData[id];
    var bytes = Uint8Array.from(atob(spec.b64), function (c) { return c.charCodeAt(0); });
    var flat = new Float32Array(bytes.buffer);
    var s = spec.shape, out = [], p = 0;
    for (var l = 0; l < s[0]; l++) { var layer = [];
      for (var h = 0; h < s[1]; h++) { var head = [];
        for (var i = 0; i < s[2]; i++) { head.push(Array.from(flat.subarray(p, p + s[3]))); p += s[3]; }
        layer.push(head); }
      out.push(layer); }
    return (cache[id] = out);
  }
  function part(att, r0, r1, c0, c1) {
    return att.map(function (layer) { return layer.map(function (head) {
      return head.slice(r0, r1).map(function (row) { return row.slice(c0, c1); }); }); });
  }
  return function (id) {  // bertviz's list of {name, attn, left_text, right_text} (sentence-pair filters too)
    if (Array.isArray(id)) return id.map(function (part) {  // encoder-decoders: one entry per attention
      var s = window.lmAttentionData[part];
      return {name: s.name, attn: unpack(part), left_text: s.left, right_text: s.right};
    });
    var spec = window.lmAttentionData[id], att = unpack(id), t = spec.tokens, b = spec.b, n = t.length;
    if (b === null) return [{name: null, attn: att, left_text: t, right_text: t}];
    return [
      {name: 'All', attn: att, left_text: t, right_text: t},
      {name: 'Sentence A -> Sentence A', attn: part(att, 0, b, 0, b), left_text: t.slice(0, b), right_text: t.slice(0, b)},
      {name: 'Sentence B -> Sentence B', attn: part(att, b, n, b, n), left_text: t.slice(b), right_text: t.slice(b)},
      {name: 'Sentence A -> Sentence B', attn: part(att, 0, b, b, n), left_text: t.slice(0, b), right_text: t.slice(b)},
      {name: 'Sentence B -> Sentence A', attn: part(att, b, n, 0, b), left_text: t.slice(b), right_text: t.slice(0, b)}
    ];
  };
})();
"""


class MissingAssetsError(UserError):
    """The npm JavaScript files are not in resources/js."""


def js_dir() -> Path:
    return resources_dir() / "js"


def missing_assets() -> list[str]:
    folder = js_dir()
    return [name for name in JS_FILES if not (folder / name).is_file()]


def assets_help() -> str:
    return ASSETS_HELP.format(folder=js_dir())


def _bertviz_dir() -> Path | None:
    """bertviz's package folder, found without importing it (that would pull in IPython and torch)."""
    spec = importlib.util.find_spec("bertviz")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller collects bertviz's .js files as data only
    return Path(bundle) / "bertviz" if bundle else None


def _bertviz_js(view: str) -> str:
    """bertviz's own view code, without its require.config (which points at the CDN)."""
    folder = _bertviz_dir()
    file = folder / f"{view}_view.js" if folder is not None else None
    if file is None or not file.is_file():
        raise UserError(
            "The bertviz package is not installed: run `bash packaging/dev.sh run` to install it."
        )
    source = file.read_text(encoding="utf-8")
    start = source.index("require.config(")
    end = source.index("});", start) + 3
    body = source[end:]
    return body[body.index("requirejs(") :]


def _inline(script: str) -> str:
    return "<script>\n" + script.replace("</script", "<\\/script") + "\n</script>\n"


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def _view_html(view: str, root: str, filters: list[str]) -> str:
    controls = [] if view == "model" else ['Layer: <select id="layer"></select>']
    if filters:
        options = "".join(f'<option value="{i}">{html.escape(n)}</option>' for i, n in enumerate(filters))
        controls.append(f'Attention: <select id="filter">{options}</select>')
    title = "Head view" if view == "head" else "Model view"
    hint = (
        "Hover a token to see its attention; click a coloured square to toggle a head, double-click to show it alone."
        if view == "head"
        else "Rows are layers, columns heads; click a thumbnail to open it."
    )
    return (
        f'<section class="view" data-view="{view}"><h2>{title}</h2><p class="hint">{hint}</p>'
        f'<div id="{root}" style="font-family:\'Helvetica Neue\', Helvetica, Arial, sans-serif;">'
        f'<span style="user-select:none">{" ".join(controls)}</span><div id="vis"></div></div></section>\n'
    )


def _pretty(tokens: list[str]) -> list[str]:
    return [t.replace("Ġ", " ").replace("▁", " ").replace("</w>", "") for t in tokens]


def _b64(attentions: np.ndarray) -> tuple[list[int], str]:
    att = np.ascontiguousarray(attentions, dtype="<f4")
    return list(att.shape), base64.b64encode(att.tobytes()).decode("ascii")


def _check_views(views: tuple[str, ...]) -> None:
    if missing_assets():
        raise MissingAssetsError(assets_help())
    unknown = [v for v in views if v not in VIEWS]
    if unknown or not views:
        raise UserError(f"Unknown bertviz view {unknown or views}: choose from {', '.join(VIEWS)}.")


def bertviz_html(result: AttentionResult, views: tuple[str, ...] = VIEWS, title: str | None = None) -> str:
    """A self-contained HTML page with bertviz's views of `result`; renders with no network at all."""
    _check_views(views)
    shape, b64 = _b64(result.attentions)
    data = {
        "att": {"shape": shape, "tokens": _pretty(result.tokens), "b": result.sentence_b_start, "b64": b64}
    }
    filters = PAIR_FILTERS if result.sentence_b_start is not None else []
    causal = " (causal: each token attends to itself and earlier tokens only)" if result.causal else ""
    summary = f"{len(result.tokens)} tokens, {result.n_layers} layers x {result.n_heads} heads{causal}"
    page = _Page(title or f"Attention of {result.model}", summary, result.n_layers, result.n_heads)
    return page.html(data, "'att'", filters, views)


def seq2seq_bertviz_html(attention: Any, views: tuple[str, ...] = VIEWS, title: str | None = None) -> str:
    """bertviz's encoder-decoder views of a core/attention/seq2seq.Seq2SeqAttention (its `encoder_attention`,
    `decoder_attention` and `cross_attention` with `encoder_tokens` and `decoder_tokens`), offline."""
    _check_views(views)
    data = {}
    for key, name in SEQ2SEQ_FILTERS.items():
        part = attention.part(key)
        shape, b64 = _b64(part.attentions)
        data[key] = {
            "name": name,
            "shape": shape,
            "left": _pretty(part.tokens),
            "right": _pretty(part.columns),
            "b64": b64,
        }
    enc, dec = attention.encoder, attention.decoder
    summary = (
        f"{enc.n_tokens} source and {dec.n_tokens} target tokens ({attention.target_from} target), "
        f"{enc.n_layers} encoder and {dec.n_layers} decoder layers x {enc.n_heads} heads"
    )
    page = _Page(
        title or f"Attention of {attention.model}",
        summary,
        min(enc.n_layers, dec.n_layers),
        min(enc.n_heads, dec.n_heads),
    )
    return page.html(data, _json(list(SEQ2SEQ_FILTERS)), list(SEQ2SEQ_FILTERS.values()), views)


@dataclass(frozen=True)
class _Page:
    """The page around bertviz's views: the inlined libraries, the weights, one section per view."""

    title: str
    summary: str
    n_layers: int
    n_heads: int

    def html(self, data: dict[str, Any], which: str, filters: list[str], views: tuple[str, ...]) -> str:
        """`which` is the JavaScript argument of window.lmAttention: one data id, or a list of them."""
        folder = js_dir()
        layers, heads = list(range(self.n_layers)), list(range(self.n_heads))
        parts = [
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title>",
            "<style>body{font-family:'Helvetica Neue',Helvetica,Arial,sans-serif;background:#fff;color:#222;margin:12px}"
            " h1{font-size:18px} h2{font-size:16px;margin:18px 0 4px} .hint{color:#666;font-size:12px;margin:0 0 8px}"
            " .tokens{font-size:12px;color:#444}</style></head><body>\n",
            f"<h1>{html.escape(self.title)}</h1>",
            f'<p class="tokens">{html.escape(self.summary)}</p>\n',
        ]
        # d3 and jQuery first: plain globals, no AMD
        for name in ("d3.min.js", "jquery.min.js", "require.js"):
            parts.append(_inline((folder / name).read_text(encoding="utf-8")))
        parts.append(_inline(f"window.lmAttentionData = {_json(data)};\n{_SHIM}"))
        for view in views:
            root = f"bertviz-{view}-{uuid.uuid4().hex}"
            parts.append(_view_html(view, root, filters))
            if view == "head":
                params = {
                    "default_filter": "0",
                    "root_div_id": root,
                    "layer": None,
                    "heads": None,
                    "include_layers": layers,
                }
            else:
                params = {
                    "default_filter": "0",
                    "display_mode": "light",
                    "root_div_id": root,
                    "include_layers": layers,
                    "include_heads": heads,
                    "total_heads": self.n_heads,
                }
            js_params = f"Object.assign({{attention: window.lmAttention({which})}}, {_json(params)})"
            parts.append(_inline(_bertviz_js(view).replace("PYTHON_PARAMS", js_params)))
        parts.append("</body></html>\n")
        return "".join(parts)
