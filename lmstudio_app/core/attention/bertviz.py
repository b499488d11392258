"""Standalone, offline bertviz pages (head view, model view) from an AttentionResult.

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
from pathlib import Path

import numpy as np

from lmstudio_app.core.attention.extract import AttentionResult
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.paths import resources_dir

JS_FILES = ("require.js", "d3.min.js", "jquery.min.js")
VIEWS = ("head", "model")
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


def _view_html(view: str, root: str, pair: bool) -> str:
    controls = [] if view == "model" else ['Layer: <select id="layer"></select>']
    if pair:
        names = [
            "All",
            "Sentence A -> Sentence A",
            "Sentence B -> Sentence B",
            "Sentence A -> Sentence B",
            "Sentence B -> Sentence A",
        ]
        options = "".join(f'<option value="{i}">{html.escape(n)}</option>' for i, n in enumerate(names))
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


def bertviz_html(result: AttentionResult, views: tuple[str, ...] = VIEWS, title: str | None = None) -> str:
    """A self-contained HTML page with bertviz's views of `result`; renders with no network at all."""
    missing = missing_assets()
    if missing:
        raise MissingAssetsError(assets_help())
    unknown = [v for v in views if v not in VIEWS]
    if unknown or not views:
        raise UserError(f"Unknown bertviz view {unknown or views}: choose from {', '.join(VIEWS)}.")
    folder = js_dir()
    att = np.ascontiguousarray(result.attentions, dtype="<f4")
    data = {
        "att": {
            "shape": list(att.shape),
            "tokens": [t.replace("Ġ", " ").replace("▁", " ").replace("</w>", "") for t in result.tokens],
            "b": result.sentence_b_start,
            "b64": base64.b64encode(att.tobytes()).decode("ascii"),
        }
    }
    pair = result.sentence_b_start is not None
    layers = list(range(result.n_layers))
    heads = list(range(result.n_heads))
    page_title = title or f"Attention of {result.model}"
    parts = [
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">',
        f"<title>{html.escape(page_title)}</title>",
        "<style>body{font-family:'Helvetica Neue',Helvetica,Arial,sans-serif;background:#fff;color:#222;margin:12px}"
        " h1{font-size:18px} h2{font-size:16px;margin:18px 0 4px} .hint{color:#666;font-size:12px;margin:0 0 8px}"
        " .tokens{font-size:12px;color:#444}</style></head><body>\n",
        f"<h1>{html.escape(page_title)}</h1>",
        f'<p class="tokens">{len(result.tokens)} tokens, {result.n_layers} layers x {result.n_heads} heads</p>\n',
    ]
    for name in ("d3.min.js", "jquery.min.js", "require.js"):  # d3 and jQuery first: plain globals, no AMD
        parts.append(_inline((folder / name).read_text(encoding="utf-8")))
    parts.append(_inline(f"window.lmAttentionData = {_json(data)};\n{_SHIM}"))
    for view in views:
        root = f"bertviz-{view}-{uuid.uuid4().hex}"
        parts.append(_view_html(view, root, pair))
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
                "total_heads": result.n_heads,
            }
        js_params = f"Object.assign({{attention: window.lmAttention('att')}}, {_json(params)})"
        parts.append(_inline(_bertviz_js(view).replace("PYTHON_PARAMS", js_params)))
    parts.append("</body></html>\n")
    return "".join(parts)
