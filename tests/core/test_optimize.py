"""Optimize: ONNX fp32/int8 exports of a classifier fine-tuned in seconds, checked against the torch model
itself; the comparison table against independent computations; the int8 remedies; the refusals."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from optimize_helpers import sentiment_csv, trained_classifier

from lmstudio_app.core.data.labeled import prepare, split
from lmstudio_app.core.data.table import read_table
from lmstudio_app.core.errors import ModelSourceError, UserError
from lmstudio_app.core.finetune.predict import class_probabilities, predict_texts
from lmstudio_app.core.jsonio import OutputError
from lmstudio_app.core.optimize.checks import int8_check
from lmstudio_app.core.optimize.export import export_classifier, load_torch_classifier
from lmstudio_app.core.optimize.memory import PeakMemory
from lmstudio_app.core.optimize.quantize import RECIPES, int8_support
from lmstudio_app.core.optimize.report import COMPARISON_FILE, load_comparison
from lmstudio_app.core.optimize.rows import TableSpec
from lmstudio_app.core.optimize.run import OptimizeRequest, optimize
from lmstudio_app.core.tasks import TaskState


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model):
    return trained_classifier(tmp_path_factory.mktemp("optimize_run"), tiny_model("encoder"))


@pytest.fixture(scope="module")
def val(run):
    """The run's validation rows, rebuilt independently of core/optimize (same split as the run)."""
    data = prepare(read_table(Path(run.run_dir).parent / "data.csv"), "text", "label")
    return split(data, 0.25, seed=0)[1]


@pytest.fixture(scope="module")
def int8_out(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("opt") / "int8"
    return out, optimize(OptimizeRequest(run.model_dir, "onnx-int8", out))


def torch_logits(model_dir: Path, texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """The fine-tuned torch model's logits and labels, straight from transformers."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.inference_mode():
        logits = model(**tokenizer(texts, padding=True, truncation=True, return_tensors="pt")).logits.numpy()
    return logits, [model.config.id2label[int(i)] for i in logits.argmax(-1)]


def test_fp32_onnx_gives_the_torch_logits_and_int8_the_torch_labels(run, val, int8_out, tmp_path):
    import onnxruntime
    from transformers import AutoTokenizer

    logits, labels = torch_logits(run.model_dir, val.texts)
    assert len(set(labels)) == 2  # a model that answers both classes: agreement means something

    fp32 = tmp_path / "fp32"
    optimize(OptimizeRequest(run.model_dir, "onnx-fp32", fp32))
    enc = AutoTokenizer.from_pretrained(fp32)(val.texts, padding=True, truncation=True, return_tensors="np")
    session = onnxruntime.InferenceSession(str(fp32 / "model.onnx"))
    onnx_logits = session.run(None, {i.name: enc[i.name] for i in session.get_inputs()})[0]
    np.testing.assert_allclose(onnx_logits, logits, atol=1e-4)
    assert [label for label, _ in predict_texts(fp32, val.texts)] == labels

    out, _ = int8_out
    assert [label for label, _ in predict_texts(out, val.texts)] == labels
    probs = dict(class_probabilities(out, val.texts[0]))  # the try-it box's call, on the ONNX model
    assert set(probs) == {"neg", "pos"} and sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
    assert (out / "model.onnx").stat().st_size < (fp32 / "model.onnx").stat().st_size


def test_the_comparison_has_every_field_with_sane_values(run, val, int8_out):
    from sklearn.metrics import accuracy_score, f1_score

    out, comparison = int8_out
    assert [v.name for v in comparison.variants] == ["original", "onnx-fp32", "onnx-int8"]
    assert comparison.rows == len(val) and comparison.rows_source == "validation rows of the run run"
    assert comparison.threads == 1 and comparison.suitable and comparison.recipe == RECIPES[0].name
    _, labels = torch_logits(run.model_dir, val.texts)
    for v in comparison.variants:
        assert v.size_mb > 0 and v.peak_memory_mb >= 0 and v.throughput_batch32 > 0
        assert 0 < v.latency_ms_p50 <= v.latency_ms_p95 < 1000
        assert v.accuracy == pytest.approx(accuracy_score(val.labels, labels), abs=1e-4)
        assert v.macro_f1 == pytest.approx(f1_score(val.labels, labels, average="macro"), abs=1e-4)
        assert v.agreement == 1.0
    original, fp32, int8 = comparison.variants
    assert original.runtime == "torch float32" and fp32.runtime == int8.runtime == "ONNX Runtime"
    assert int8.size_mb < fp32.size_mb
    assert int8.path == str(out / "model.onnx") and fp32.path is None and original.path == str(run.model_dir)

    saved = json.loads((out / COMPARISON_FILE).read_text())
    assert saved == comparison.to_dict()
    assert {k for row in saved["variants"] for k in row} >= {
        "name", "size_mb", "latency_ms_p50", "latency_ms_p95", "throughput_batch32", "accuracy", "agreement",
    }  # fmt: skip
    assert load_comparison(out).to_dict() == saved
    assert sorted(p.name for p in out.iterdir()) == [
        "comparison.json", "config.json", "finetune.json", "model.onnx", "optimized.json",
        "tokenizer.json", "tokenizer_config.json",
    ]  # fmt: skip


def test_without_rows_only_speed_and_size_and_it_says_so(tiny_model, tmp_path):
    comparison = optimize(OptimizeRequest(tiny_model("classifier"), "onnx-fp32", tmp_path / "o"))
    assert comparison.rows_source == "built-in sample sentences"
    assert all(v.accuracy is None and v.macro_f1 is None for v in comparison.variants)
    assert all(v.latency_ms_p50 > 0 and v.agreement == 1.0 for v in comparison.variants)
    assert any("accuracy is not" in note for note in comparison.notes)


def test_a_table_with_labels_the_model_lacks_keeps_the_known_rows(run, tmp_path):
    table = sentiment_csv(tmp_path / "t.csv", rows=20, seed=4)
    table.write_text(table.read_text() + "awful boring film,meh\n", encoding="utf-8")
    spec = TableSpec(table, "text", "label")
    comparison = optimize(OptimizeRequest(run.model_dir, "onnx-fp32", tmp_path / "o", spec))
    assert comparison.rows == 20 and comparison.rows_source == "t.csv"
    assert any("1 rows with labels the model does not know" in n for n in comparison.notes)
    assert comparison.variants[0].accuracy is not None
    with pytest.raises(UserError, match="None of the labels in t.csv"):
        optimize(
            OptimizeRequest(run.model_dir, "onnx-fp32", tmp_path / "o2", TableSpec(table, "label", "text"))
        )
    assert not (tmp_path / "o2").exists()  # refused before anything was written


def test_int8_tries_the_remedies_in_turn_and_reports_an_unsuitable_model(run, tmp_path):
    model, tokenizer = load_torch_classifier(run.model_dir)
    fp32 = export_classifier(model, tokenizer, tmp_path / "m.onnx")
    reference = np.zeros(10, dtype=int)
    asked: list[str] = []

    def answers(onnx_file: Path) -> np.ndarray:  # recipe i agrees on 5, 6 then 10 rows of 10
        asked.append(onnx_file.name)
        return np.asarray([0] * [5, 6, 10][len(asked) - 1] + [1] * (10 - [5, 6, 10][len(asked) - 1]))

    check = int8_check(fp32, tmp_path / "int8.onnx", answers, reference, TaskState())
    assert [t["agreement"] for t in check.tried] == [0.5, 0.6, 1.0] and check.recipe == RECIPES[2].name
    assert check.suitable and "plain int8 agreed with the original on 50.0%" in check.note
    assert sorted(p.name for p in tmp_path.iterdir()) == ["int8.onnx", "m.onnx"]

    asked.clear()
    check = int8_check(fp32, tmp_path / "bad.onnx", lambda f: np.ones(10, dtype=int), reference, TaskState())
    assert not check.suitable and len(check.tried) == 3 and "not suitable" in check.note


@pytest.mark.parametrize(
    ("cpuinfo", "machine", "fast"),
    [
        ("flags\t: fpu sse avx2 avx512f avx512_vnni\n", "x86_64", True),
        ("flags\t: fpu sse avx2 avx_vnni\n", "x86_64", True),
        ("flags\t: fpu sse sse4_2 avx avx2 fma\n", "x86_64", False),
        ("Features\t: fp asimd evtstrm aes pmull asimddp\n", "aarch64", True),
        ("Features\t: fp asimd evtstrm\n", "aarch64", False),
    ],
)
def test_int8_support_reads_the_cpu_flags(cpuinfo, machine, fast):
    support = int8_support(cpuinfo, machine)
    assert support.fast is fast
    assert ("lacks" in support.note) is (not fast)


def test_peak_memory_sees_an_allocation_that_is_freed_again():
    with PeakMemory() as peak:
        block = bytearray(60_000_000)
        block[::4096] = b"x" * len(block[::4096])  # touch every page
        del block
    assert 55 <= peak.added_mb < 200


def test_refusals(run, tiny_model, tmp_path, monkeypatch):
    with pytest.raises(ModelSourceError, match="neither a fine-tuned classifier nor a masked LM"):
        optimize(OptimizeRequest(tiny_model("encoder"), "onnx-int8", tmp_path / "a"))
    with pytest.raises(ModelSourceError, match="no config.json"):
        optimize(OptimizeRequest(tmp_path, "onnx-int8", tmp_path / "b"))
    used = tmp_path / "used"
    used.mkdir()
    (used / "mine.txt").write_text("keep")
    with pytest.raises(OutputError, match="not a new or empty folder"):
        optimize(OptimizeRequest(run.model_dir, "onnx-int8", used))
    with pytest.raises(UserError, match="Unknown method"):
        optimize(OptimizeRequest(run.model_dir, "int4", tmp_path / "c"))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(UserError, match="pip install onnxruntime"):
        optimize(OptimizeRequest(run.model_dir, "onnx-int8", tmp_path / "d"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["used"]


def test_other_model_folders_join_the_table(run, int8_out, tiny_model, tmp_path):
    """A distilled student would come as a model folder: here the fine-tuned folder itself (torch) and the
    int8 folder (ONNX Runtime), which must answer exactly as the original and the int8 variant did."""
    out, first = int8_out
    request = OptimizeRequest(run.model_dir, "onnx-fp32", tmp_path / "o", compare=(run.model_dir, out))
    comparison = optimize(request)
    names = [v.name for v in comparison.variants]
    assert names == ["original", "onnx-fp32", "model", "int8"]
    student, onnx = comparison.variants[2:]
    assert student.runtime == "torch float32" and onnx.runtime == "ONNX Runtime"
    assert student.agreement == 1.0 and student.accuracy == comparison.variants[0].accuracy
    assert onnx.accuracy == first.variants[2].accuracy and onnx.size_mb == first.variants[2].size_mb
    with pytest.raises(ModelSourceError, match="only classifiers can be compared"):
        optimize(OptimizeRequest(run.model_dir, "onnx-fp32", tmp_path / "p", compare=(tiny_model("mlm"),)))
