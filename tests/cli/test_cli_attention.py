"""`lmstudio-app attention`: JSON, offline HTML and PNG outputs on a real tiny model; bad input exits 2."""

from __future__ import annotations

import json

import numpy as np
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
    assert set(data) == {"model", "tokens", "causal", "attentions"} and data["causal"] is False
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


def test_causal_json_records_the_mask(tiny_decoder, tmp_path):
    out = tmp_path / "gpt2.json"
    assert main(["attention", "-m", str(tiny_decoder("gpt2")), "-o", str(out), "the cat sat"]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["causal"] is True and data["tokens"] == ["<s>", "the", "cat", "sat"]
    att = np.array(data["attentions"])
    assert att.shape == (2, 2, 4, 4) and np.all(np.triu(att, 1) == 0)


@pytest.mark.parametrize("kind", ["t5", "bart"])
def test_encoder_decoder_json_has_the_five_fields(tiny_decoder, tmp_path, kind):
    out = tmp_path / f"{kind}.json"
    argv = [
        "attention",
        "-m",
        str(tiny_decoder(kind)),
        "--target",
        "a dog ran",
        "-o",
        str(out),
        "the cat sat",
    ]
    assert main(argv) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    fields = {
        "encoder_tokens",
        "decoder_tokens",
        "encoder_attentions",
        "decoder_attentions",
        "cross_attentions",
    }
    assert fields <= set(data) and data["target_from"] == "typed"
    n, m = len(data["encoder_tokens"]), len(data["decoder_tokens"])
    # the start token, then the target as the tokenizer writes one (BART's <s> first, </s> last)
    start = {"t5": ["[PAD]"], "bart": ["</s>", "<s>"]}[kind]
    assert data["decoder_tokens"] == [*start, "a", "dog", "ran", "</s>"]
    layers_heads = {"t5": (2, 4), "bart": (2, 2)}[kind]
    assert np.array(data["encoder_attentions"]).shape == (*layers_heads, n, n)
    assert np.array(data["decoder_attentions"]).shape == (*layers_heads, m, m)
    assert np.array(data["cross_attentions"]).shape == (*layers_heads, m, n)  # decoder rows x encoder columns
    assert np.all(np.triu(np.array(data["decoder_attentions"]), 1) == 0)


def test_encoder_decoder_default_target_is_greedy(tiny_decoder, tmp_path, capsys):
    out = tmp_path / "greedy.json"
    assert main(["attention", "-m", str(tiny_decoder("t5")), "-o", str(out), "the cat sat"]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["target_from"] == "greedy"
    assert "source and" in capsys.readouterr().err


@pytest.mark.skipif(bool(bv.missing_assets()), reason="run packaging/dev.sh to fetch resources/js")
def test_encoder_decoder_html_has_the_three_attentions_offline(tiny_decoder, tmp_path):
    out = tmp_path / "t5.html"
    assert (
        main(["attention", "-m", str(tiny_decoder("t5")), "--target", "a dog", "-o", str(out), "the cat"])
        == 0
    )
    page = out.read_text(encoding="utf-8")
    assert "<script src" not in page.lower() and "https://cdnjs" not in page
    for name in ("Encoder", "Decoder", "Cross"):
        assert f">{name}</option>" in page and f'"name": "{name}"' in page


@pytest.mark.parametrize(("kind", "part"), [("t5", "cross"), ("gpt2", None)])
def test_decoder_png(tiny_decoder, tmp_path, qapp, kind, part):
    out = tmp_path / f"{kind}.png"
    extra = ["--part", part] if part else []
    assert main(["attention", "-m", str(tiny_decoder(kind)), *extra, "-o", str(out), "the cat sat"]) == 0
    assert QImage(str(out)).width() == 1200


@pytest.mark.parametrize(
    ("kind", "argv", "message"),
    [
        ("gpt2", ["--pair", "a dog"], "is a causal LM: it reads one text"),
        ("gpt2", ["--part", "cross"], "--part is for encoder-decoders"),
        ("mlm", ["--target", "a dog"], "a target is for encoder-decoders"),
        ("t5", ["--pair", "a dog"], "is an encoder-decoder: it reads a source and a target"),
    ],
)
def test_decoder_misuse_exits_2_with_one_line(
    tiny_decoder, tiny_model, tmp_path, capsys, kind, argv, message
):
    model = tiny_model("mlm") if kind == "mlm" else tiny_decoder(kind)
    assert main(["attention", "-m", str(model), *argv, "-o", str(tmp_path / "a.json"), "the cat"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("lmstudio-app: error: ") and message in err[-1]
