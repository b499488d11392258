"""The same job elsewhere: the equivalent command line, the accelerate script, and ONNX export."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from lmstudio_app.cli import build_parser
from lmstudio_app.core.finetune.export import accelerate_script, command_line, export_onnx
from lmstudio_app.core.finetune.settings import FineTuneSettings


def test_command_line_parses_back_to_the_same_settings():
    settings = FineTuneSettings(
        text_column="review text",
        label_column="stars",
        text_pair_column="title",
        epochs=2.5,
        learning_rate=3e-5,
        batch_size=8,
        max_length=96,
        seed=7,
        patience=0,
        grad_accum=4,
        precision="bf16",
    )
    line = command_line(settings, Path("/data/my reviews.csv"), Path("out dir"))
    argv = shlex.split(line)
    assert argv[:2] == ["lmstudio-app", "finetune"]
    args = build_parser().parse_args(argv[1:])
    assert (args.csv, args.output, args.text_column, args.text_pair_column) == (
        "/data/my reviews.csv",
        "out dir",
        "review text",
        "title",
    )
    assert (args.label_column, args.epochs, args.lr, args.batch_size, args.max_length, args.seed) == (
        "stars",
        2.5,
        3e-5,
        8,
        96,
        7,
    )
    assert (args.patience, args.grad_accum, args.precision, args.val_split) == (0, 4, "bf16", 0.2)
    assert "--warmup-ratio" not in argv  # defaults are left out
    with_val = shlex.split(command_line(settings, Path("a.csv"), Path("o"), val_csv=Path("v.csv")))
    assert "--val-csv" in with_val and "--val-split" not in with_val


def test_accelerate_script_launches_the_same_job():
    script = accelerate_script(FineTuneSettings(device="cpu", epochs=1), Path("/d/train.csv"), Path("/o"))
    assert script.startswith("#!/usr/bin/env bash\n")
    body = script.split("accelerate launch", 1)[1]
    argv = shlex.split(body.replace("\\\n", " "))
    assert argv[:5] == ["--num_processes", "$NUM_GPUS", "-m", "lmstudio_app", "finetune"]
    args = build_parser().parse_args(argv[4:])
    assert (args.csv, args.output, args.epochs) == ("/d/train.csv", "/o", 1.0)
    assert args.device == "auto"  # accelerate places each process on its GPU


@pytest.mark.slow
def test_export_onnx_of_a_classifier(tmp_path, tiny_model):
    onnx = pytest.importorskip("onnx")
    out = export_onnx(tiny_model("classifier"), tmp_path / "onnx" / "model.onnx")
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask", "token_type_ids"]
    assert [o.name for o in model.graph.output] == ["logits"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert all(d.dim_param for d in dims)  # batch and sequence length stay dynamic
