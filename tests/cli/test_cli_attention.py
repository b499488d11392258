"""`lmstudio-app attention`: JSON, offline HTML and PNG outputs on a real tiny model; bad input exits 2."""

from __future__ import annotations

import json

import pytest
from PySide6.QtGui import QImage

from lmstudio_app.cli import main
from lmstudio_app.core.attention import bertviz as bv


@pytest.fixture(scope="module")
def model_dir(tiny_model):
    return str(tiny_model("mlm"))


def test_json_output(model_dir, tmp_path, capsys):
    out = tmp_path / "a.json"
    assert main(["attention", "-m", model_dir, "-o", str(out), "the cat sat"]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) == {"model", "tokens", "attentions"}
    assert data["tokens"] == ["[CLS]", "the", "cat", "sat", "[SEP]"]
    att = data["attentions"]  # layer, head, query, key
    assert (len(att), len(att[0]), len(att[0][0]), len(att[0][0][0])) == (2, 2, 5, 5)
    assert all(abs(sum(row) - 1) < 1e-5 for layer in att for head in layer for row in head)
    assert "wrote" in capsys.readouterr().err


def test_pair_json(model_dir, tmp_path):
    out = tmp_path / "pair.json"
    assert main(["attention", "-m", model_dir, "--pair", "a dog ran", "-o", str(out), "the cat sat"]) == 0
    tokens = json.loads(out.read_text(encoding="utf-8"))["tokens"]
    assert tokens == ["[CLS]", "the", "cat", "sat", "[SEP]", "a", "dog", "ran", "[SEP]"]


@pytest.mark.skipif(bool(bv.missing_assets()), reason="run packaging/dev.sh to fetch resources/js")
def test_html_output_is_offline(model_dir, tmp_path):
    out = tmp_path / "a.html"
    assert main(["attention", "-m", model_dir, "-o", str(out), "the cat sat"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<script src" not in page.lower() and "https://cdnjs" not in page
    assert "Head view" in page and "Model view" in page


def test_png_output_has_the_requested_size(model_dir, tmp_path, qapp):
    out = tmp_path / "grid.png"
    assert main(["attention", "-m", model_dir, "-o", str(out), "--size", "800x500", "the cat sat"]) == 0
    image = QImage(str(out))
    assert out.stat().st_size > 1000 and (image.width(), image.height()) == (800, 500)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-o", "{tmp}/a.txt", "the cat"], "must end in .json, .html or .png"),
        (["-o", "{tmp}/a.json", "  "], "The text is empty"),
        (["-o", "{tmp}/missing/a.json", "the cat"], "does not exist"),
        (["-o", "{tmp}/a.png", "--size", "big", "the cat"], "Bad --size"),
        (["-m", "{tmp}/no-such-model", "-o", "{tmp}/a.json", "the cat"], ""),
    ],
)
def test_bad_input_exits_2_with_one_line(model_dir, tmp_path, capsys, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "-m" not in argv:
        argv = ["-m", model_dir, *argv]
    assert main(["attention", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("lmstudio-app: error: ") and message in err[-1]


def test_html_without_javascript_assets_exits_2(model_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bv, "js_dir", lambda: tmp_path / "js")
    assert main(["attention", "-m", model_dir, "-o", str(tmp_path / "a.html"), "the cat"]) == 2
    err = capsys.readouterr().err
    assert "packaging/dev.sh" in err and err.count("\n") == 1
