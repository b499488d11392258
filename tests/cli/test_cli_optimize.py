"""`lmstudio-app optimize` end to end: --json, `predict -m OUT` against the original, and the refusals
(exit 2, one line)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from optimize_helpers import trained_classifier

from lmstudio_app.cli import main


def run_cli(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model):
    return trained_classifier(tmp_path_factory.mktemp("optimize_run"), tiny_model("encoder"))


TEXTS = ["good great happy film", "bad awful movie was sad", "the cat sat on the mat", "love it"]


def test_optimize_json_then_predict_with_the_optimized_folder(run, tmp_path, capsys):
    out = tmp_path / "opt"
    code, stdout, err = run_cli(
        capsys, "optimize", "-m", run.model_dir, "--method", "onnx-int8", "-o", out, "--json"
    )
    assert code == 0, err
    report = json.loads(stdout)
    assert [v["name"] for v in report["variants"]] == ["original", "onnx-fp32", "onnx-int8"]
    for v in report["variants"]:
        assert v["size_mb"] > 0 and 0 < v["latency_ms_p50"] <= v["latency_ms_p95"]
        assert v["throughput_batch32"] > 0 and 0 <= v["accuracy"] <= 1 and v["agreement"] == 1.0
    assert report["rows_source"] == "validation rows of the run run" and report["threads"] == 1
    assert "Measuring onnx-int8" in err  # progress on stderr, JSON alone on stdout

    code, optimized, err = run_cli(capsys, "predict", "-m", out, *TEXTS, "--json")
    assert code == 0, err
    code, original, _ = run_cli(capsys, "predict", "-m", run.model_dir, *TEXTS, "--json")
    assert [r["label"] for r in json.loads(optimized)] == [r["label"] for r in json.loads(original)]
    assert {r["label"] for r in json.loads(original)} == {"neg", "pos"}


def test_optimize_prints_a_table_and_where_the_model_went(run, tmp_path, capsys):
    table = Path(run.run_dir).parent / "data.csv"
    out = tmp_path / "fp32"
    code, stdout, err = run_cli(
        capsys, "optimize", "-m", run.model_dir, "--method", "onnx-fp32", "-o", out,
        "--csv", table, "--text-column", "text", "--label-column", "label",
    )  # fmt: skip
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0] == "measured on 96 data.csv; latency at batch 1 on 1 thread"
    assert lines[1].split()[:4] == ["variant", "runtime", "size", "MB"]
    assert [line.split()[0] for line in lines[2:4]] == ["original", "onnx-fp32"]
    assert f"predict -m {out}" in lines[-1]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("encoder", "neither a fine-tuned classifier nor a masked LM"),
        ("multi-label", "is a multi-label classifier"),
        ("optimized", "is already optimized"),
        ("used-output", "not a new or empty folder"),
        ("unwritable", "cannot write /proc/lmstudio-opt"),
        ("no-onnxruntime", "pip install onnxruntime"),
        ("csv-without-column", "--csv needs --text-column"),
    ],
)
def test_refusals_exit_2_with_one_line(run, tiny_model, tmp_path, capsys, monkeypatch, case, message):
    model, out = run.model_dir, tmp_path / "o"
    extra: list[object] = []
    if case == "encoder":
        model = tiny_model("encoder")
    elif case == "multi-label":  # the same folder, its config saying several labels per text
        model = tmp_path / "multi"
        shutil.copytree(run.model_dir, model)
        config = json.loads((model / "config.json").read_text())
        (model / "config.json").write_text(
            json.dumps({**config, "problem_type": "multi_label_classification"})
        )
    elif case == "optimized":
        (tmp_path / "opt").mkdir()
        for name in ("model.onnx", "optimized.json", "config.json"):
            (tmp_path / "opt" / name).write_text("{}")
        model = tmp_path / "opt"
    elif case == "used-output":
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    elif case == "unwritable":
        out = Path("/proc/lmstudio-opt")
    elif case == "no-onnxruntime":
        monkeypatch.setitem(sys.modules, "onnxruntime", None)
    else:
        extra = ["--csv", tmp_path / "t.csv"]
    code, stdout, err = run_cli(capsys, "optimize", "-m", model, "--method", "onnx-int8", "-o", out, *extra)
    assert code == 2 and stdout == ""
    assert err.startswith("lmstudio-app: error: ") and message in err and err.count("\n") == 1
