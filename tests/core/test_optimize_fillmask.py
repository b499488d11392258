"""Fill-mask through ONNX Runtime: an optimized masked-LM folder and the Fill-mask tab's fast runtime give
the torch model's candidates (the embedded minilm-mlm, real weights), every mode included."""

from __future__ import annotations

import pytest

from lmstudio_app.core.fillmask.predict import fill_mask
from lmstudio_app.core.models.onnx_runtime import OnnxMaskedLM, load_masked_lm
from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM, find_embedded
from lmstudio_app.core.optimize.fillmask import fast_runtime, masked_sentences
from lmstudio_app.core.optimize.rows import SAMPLE_TEXTS
from lmstudio_app.core.optimize.run import OptimizeRequest, optimize
from lmstudio_app.core.tasks import TaskState


@pytest.fixture(scope="module")
def mlm():
    """(torch model, tokenizer, folder) of the embedded masked LM."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    found = find_embedded(DEFAULT_MASKED_LM)
    assert found is not None
    tokenizer = AutoTokenizer.from_pretrained(found.path)
    return AutoModelForMaskedLM.from_pretrained(found.path).eval(), tokenizer, found.path


@pytest.fixture(scope="module")
def exported(mlm, tmp_path_factory):
    out = tmp_path_factory.mktemp("mlm") / "fp32"
    return out, optimize(OptimizeRequest(mlm[2], "onnx-fp32", out))


def same_result(a, b) -> None:
    for ma, mb in zip(a.masks, b.masks, strict=True):
        assert [c.token for c in ma.candidates] == [c.token for c in mb.candidates]
        assert [c.score for c in ma.candidates] == pytest.approx([c.score for c in mb.candidates], abs=1e-4)
    assert [s.text for s in a.sentences] == [s.text for s in b.sentences]
    assert [t.score for t in a.targets] == pytest.approx([t.score for t in b.targets], abs=1e-4)


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("the cat sat on the [MASK].", {"top_k": 8}),
        ("paris is the [MASK] of [MASK].", {"mode": "joint", "targets": ["capital", "france"]}),
        ("she was [MASK]x2 the news.", {"whole_words": True}),
    ],
)
def test_an_optimized_masked_lm_fills_masks_as_the_torch_model(mlm, exported, text, options):
    model, tokenizer, _ = mlm
    out, _ = exported
    onnx, onnx_tokenizer = load_masked_lm(out)
    same_result(
        fill_mask(onnx, onnx_tokenizer, text, **options), fill_mask(model, tokenizer, text, **options)
    )


def test_the_masked_lm_comparison(exported, mlm):
    out, comparison = exported
    assert comparison.kind == "masked-lm"
    assert comparison.rows == len(masked_sentences(SAMPLE_TEXTS, "[MASK]")) == 19
    original, fp32 = comparison.variants
    assert (original.name, fp32.name) == ("original", "onnx-fp32")
    assert fp32.agreement == 1.0 and fp32.path == str(out / "model.onnx") and fp32.throughput_batch32 is None
    assert all(0 < v.latency_ms_p50 <= v.latency_ms_p95 and v.size_mb > 0 for v in comparison.variants)
    assert sorted(p.name for p in out.iterdir()) == [
        "comparison.json", "config.json", "model.onnx", "optimized.json", "tokenizer.json", "tokenizer_config.json",
    ]  # fmt: skip


def test_int8_of_a_tiny_masked_lm_checks_its_agreement(tiny_model, tmp_path):
    comparison = optimize(OptimizeRequest(tiny_model("pretraining"), "onnx-int8", tmp_path / "o"))
    assert [v.name for v in comparison.variants] == ["original", "onnx-fp32", "onnx-int8"]
    assert comparison.tried[0]["recipe"] == "int8 weights, one scale per matrix"
    assert all(0 <= v.agreement <= 1 for v in comparison.variants) and comparison.variants[0].agreement == 1
    assert comparison.variants[2].size_mb < comparison.variants[1].size_mb


def test_the_fast_runtime_exports_a_loaded_model_once(mlm, tmp_path, monkeypatch):
    model, tokenizer, folder = mlm
    monkeypatch.setenv("LMSTUDIO_HOME", str(tmp_path))
    messages: list[str] = []
    fast = fast_runtime(model, tokenizer, folder, TaskState(lambda _f, m: messages.append(m)))
    assert isinstance(fast, OnnxMaskedLM) and any("Exporting" in m for m in messages)
    assert len(list(tmp_path.glob("onnx-cache/*/model.onnx"))) == 1
    assert fast_runtime(model, tokenizer, folder) is fast
    text = "the [MASK] barked at the mailman."
    same_result(fill_mask(fast, tokenizer, text, top_k=10), fill_mask(model, tokenizer, text, top_k=10))
