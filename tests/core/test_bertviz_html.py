"""Offline bertviz pages: the three libraries inlined, no network script source, the weights intact."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from lmstudio_app.core.attention import bertviz as bv
from lmstudio_app.core.attention.extract import AttentionResult
from lmstudio_app.core.errors import UserError

pytestmark = pytest.mark.skipif(
    bool(bv.missing_assets()), reason="run packaging/dev.sh to fetch resources/js"
)


def _result(n: int = 5, b: int | None = None) -> AttentionResult:
    rng = np.random.default_rng(0)
    att = rng.random((2, 3, n, n)).astype(np.float32)
    att /= att.sum(-1, keepdims=True)
    tokens = ["[CLS]", *[f"w{i}" for i in range(n - 2)], "[SEP]"]
    special = np.array([t.startswith("[") for t in tokens])
    return AttentionResult("tiny", tokens, special, att, sentence_b_start=b)


def _data(page: str) -> dict:
    match = re.search(r"window\.lmAttentionData = (\{.*?\});\n", page)
    return json.loads(match.group(1))


def test_page_inlines_its_javascript_and_loads_nothing_from_the_network():
    page = bv.bertviz_html(_result())
    assert "<script src" not in page.lower()
    assert not re.search(r"""src\s*=\s*["']?(https?:)?//""", page, re.I)
    assert "cdnjs.cloudflare.com" not in page  # bertviz's require.config pointing at the CDN is gone
    for marker in ("d3js.org v5.7.0", "jQuery v2.2.4", "RequireJS 2.3.6"):
        assert marker in page
    assert page.count('class="view"') == 2  # head view and model view


def test_weights_and_tokens_survive_the_round_trip():
    result = _result(6)
    data = _data(bv.bertviz_html(result))["att"]
    assert data["shape"] == [2, 3, 6, 6] and data["tokens"] == result.tokens and data["b"] is None
    decoded = np.frombuffer(base64.b64decode(data["b64"]), dtype="<f4").reshape(data["shape"])
    np.testing.assert_array_equal(decoded, result.attentions)


def test_sentence_pair_gets_bertviz_filters():
    page = bv.bertviz_html(_result(7, b=4), views=("head",))
    assert "Sentence A -&gt; Sentence B" in page and _data(page)["att"]["b"] == 4
    assert page.count('class="view"') == 1


def test_tokens_cannot_close_the_script():
    result = _result()
    result.tokens[1] = "</script><b>"
    page = bv.bertviz_html(result)
    assert "</script><b>" not in page


def test_unknown_view_is_refused():
    with pytest.raises(UserError, match="Unknown bertviz view"):
        bv.bertviz_html(_result(), views=("neuron",))


def test_missing_assets_say_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.setattr(bv, "js_dir", lambda: tmp_path)
    assert bv.missing_assets() == list(bv.JS_FILES)
    with pytest.raises(bv.MissingAssetsError, match="packaging/dev.sh"):
        bv.bertviz_html(_result())


def test_write_to_file_atomically_and_refuse_what_bertviz_cannot_draw(tmp_path):
    from lmstudio_app.core.attention.export import BERTVIZ_MAX_TOKENS, write_bertviz_page

    path = write_bertviz_page(_result(), tmp_path / "a.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    long = _result(BERTVIZ_MAX_TOKENS + 1)
    with pytest.raises(UserError, match=f"choose at most {BERTVIZ_MAX_TOKENS}"):
        write_bertviz_page(long, path)
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")  # the good page is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html"]  # no temporary file left


def test_bundle_finds_bertviz_js_as_data_files(monkeypatch, tmp_path):
    """In the PyInstaller bundle bertviz is collected as data files only, under sys._MEIPASS/bertviz."""
    source, js = bv._bertviz_dir(), bv.js_dir()
    monkeypatch.setattr(bv, "js_dir", lambda: js)  # resources/ would also move under _MEIPASS
    (tmp_path / "bertviz").mkdir()
    for view in bv.VIEWS:
        (tmp_path / "bertviz" / f"{view}_view.js").write_text(
            (source / f"{view}_view.js").read_text(encoding="utf-8"), encoding="utf-8"
        )
    monkeypatch.setattr(bv.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(bv.sys, "_MEIPASS", str(tmp_path), raising=False)
    assert bv._bertviz_dir() == tmp_path / "bertviz"
    assert "Head view" in bv.bertviz_html(_result())
    monkeypatch.delattr(bv.sys, "_MEIPASS")
    with pytest.raises(UserError, match="bertviz package is not installed"):
        bv.bertviz_html(_result())
