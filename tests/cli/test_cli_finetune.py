"""`inspect-csv`, `finetune` and `predict` from the command line, end to end with the embedded MiniLM."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from lmstudio_app.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def reviews_csv(path: Path, rows: int = 40) -> Path:
    rng = random.Random(5)
    good = ["a wonderful film", "great acting and a lovely story", "I loved it", "brilliant and moving"]
    bad = ["a boring film", "terrible acting and a dull story", "I hated it", "awful and far too long"]
    lines = ["review;sentiment"]
    for i in range(rows):
        positive = i % 2 == 0
        label = ("positive", " Positive", "POSITIVE")[i % 3] if positive else "negative"
        lines.append(f"{rng.choice(good if positive else bad)};{label}")
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def test_inspect_csv_json(tmp_path, capsys):
    path = reviews_csv(tmp_path / "reviews.csv", rows=10)
    code, out, err = run_cli(capsys, "inspect-csv", path, "--json")
    assert code == 0, err
    assert json.loads(out) == {
        "rows": 10,
        "columns": ["review", "sentiment"],
        "encoding": "utf-8-sig",
        "delimiter": ";",
        "problems": [],
    }
    code, out, _ = run_cli(capsys, "inspect-csv", path)
    assert code == 0 and "delimiter: ;" in out and "problems:  none" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\x00\x01\x02\x03" * 100, "binary data"), (b"", "is empty"), (None, "not found")],
    ids=["binary", "empty", "missing"],
)
def test_inspect_csv_unreadable_file_exit_2_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run_cli(capsys, "inspect-csv", path, "--json")
    assert code == 2 and out == ""
    assert err.startswith("lmstudio-app: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_finetune_refuses_a_missing_column_and_a_used_folder(tmp_path, capsys):
    path = reviews_csv(tmp_path / "reviews.csv", rows=10)
    code, _, err = run_cli(
        capsys,
        "finetune",
        "--csv",
        path,
        "--text-column",
        "text",
        "--label-column",
        "sentiment",
        "-o",
        tmp_path / "o",
    )
    assert code == 2 and "'text' is not in reviews.csv; its columns are: review, sentiment" in err
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    code, _, err = run_cli(
        capsys,
        "finetune",
        "--csv",
        path,
        "--text-column",
        "review",
        "--label-column",
        "sentiment",
        "-o",
        used,
    )
    assert code == 2 and "not empty" in err and (used / "keep.txt").read_text() == "mine"


@pytest.mark.slow
def test_finetune_then_predict_with_the_embedded_minilm(tmp_path, capsys):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    data = reviews_csv(tmp_path / "reviews.csv")
    out = tmp_path / "model"
    code, stdout, err = run_cli(
        capsys,
        "finetune",
        "--csv", data,
        "--text-column", "review",
        "--label-column", "sentiment",
        "-o", out,
        "--max-steps", "4",
        "--batch-size", "8",
        "--lr", "1e-4",
        "--val-split", "0.25",
    )  # fmt: skip
    assert code == 0, err
    assert "merged label variants" in err and "' Positive' -> 'positive'" in err
    assert "max length 16 tokens" in err  # picked from the data
    from lmstudio_app.core.models.precision import resolve_precision

    precision = resolve_precision("auto", "cpu")  # bf16 where the CPU has it natively
    assert "eval at step 4" in err and f"Training 30 rows on cpu ({precision})" in err
    assert "Settings: 4 steps, learning rate 0.0001, batch 8 x 1 accumulation = 8, max length 16" in err
    assert f"device cpu, precision {precision} (auto)" in err
    assert stdout.startswith("accuracy ")
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["eval_accuracy"] <= 1.0 and 0.0 <= metrics["eval_macro_f1"] <= 1.0
    model = AutoModelForSequenceClassification.from_pretrained(out)  # a plain HF folder
    assert model.config.id2label == {0: "negative", 1: "positive"}
    AutoTokenizer.from_pretrained(out)

    code, stdout, err = run_cli(
        capsys, "predict", "-m", out, "--json", "I loved it", "awful and far too long"
    )
    assert code == 0, err
    rows = json.loads(stdout)
    assert [r["text"] for r in rows] == ["I loved it", "awful and far too long"]
    assert all(r["label"] in ("negative", "positive") and 0.5 <= r["score"] <= 1.0 for r in rows)

    predicted = tmp_path / "predicted.csv"
    code, stdout, err = run_cli(
        capsys, "predict", "-m", out, "--csv", data, "--text-column", "review", "-o", predicted
    )
    assert code == 0, err
    assert "40 rows written" in stdout
    header = predicted.read_text(encoding="utf-8").splitlines()[0]
    assert header == "review,sentiment,predicted_label,score,note"


def test_predict_bad_input(tmp_path, capsys, tiny_model):
    code, _, err = run_cli(capsys, "predict", "-m", tiny_model("classifier"))
    assert code == 2 and "Nothing to classify" in err
    code, _, err = run_cli(capsys, "predict", "-m", tiny_model("encoder"), "hello")
    assert code == 2 and "not a text classifier" in err
    code, _, err = run_cli(capsys, "predict", "-m", tmp_path / "nothing", "hello")
    assert code == 2 and "no config.json" in err


def test_finetune_resume_continues_a_cancelled_run(tmp_path, capsys, tiny_model):
    from lmstudio_app.core.data.labeled import prepare, split
    from lmstudio_app.core.data.table import read_table
    from lmstudio_app.core.finetune.job import fine_tune
    from lmstudio_app.core.finetune.settings import FineTuneSettings
    from lmstudio_app.core.tasks import Cancelled, TaskState
    from lmstudio_app.core.training.record import RunRecord

    data = reviews_csv(tmp_path / "reviews.csv")
    base = tiny_model("encoder")
    out = tmp_path / "run"
    args = ["--csv", data, "--text-column", "review", "--label-column", "sentiment", "-o", out, "-m", base]
    args += [
        "--max-steps",
        "4",
        "--batch-size",
        "8",
        "--max-length",
        "16",
        "--patience",
        "0",
        "--val-split",
        "0.25",
    ]
    code, _, err = run_cli(capsys, "finetune", *args, "--resume")
    assert code == 2 and "does not exist: run without --resume" in err

    train, val = split(prepare(read_table(data), "review", "sentiment"), 0.25, 42)
    state = TaskState()
    settings = FineTuneSettings(base_model=str(base), batch_size=8, max_length=16, patience=0, max_steps=4)
    with pytest.raises(Cancelled):
        fine_tune(
            train,
            val,
            settings,
            out,
            model_dir=out,
            state=state,
            on_event=lambda e: e["type"] == "log" and state.request_stop(),
        )
    assert [p.name for p in RunRecord(out).checkpoints()] == ["checkpoint-2"]
    code, _, err = run_cli(capsys, "finetune", *args)  # without --resume: refused, pointing at --resume
    assert code == 2 and "checkpoint at step 2: add --resume" in err

    code, stdout, err = run_cli(capsys, "finetune", *args, "--resume")
    assert code == 0, err
    assert "resuming from step 2" in err and stdout.startswith("accuracy ")
    assert json.loads((out / "metrics.json").read_text())["global_step"] == 4
    assert RunRecord(out).checkpoints() == [] and (out / "config.json").is_file()


def test_ctrl_c_stops_after_the_step_keeps_a_checkpoint_and_exits_130(tmp_path, tiny_model):
    """A real SIGINT to a real process: the run stops cleanly, says how to continue, and can be resumed."""
    import os
    import signal
    import subprocess
    import sys

    from lmstudio_app.core.training.record import RunRecord

    data = reviews_csv(tmp_path / "reviews.csv")
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-m", "lmstudio_app", "finetune", "--csv", str(data), "--text-column", "review"]
    args += ["--label-column", "sentiment", "-o", str(out), "-m", str(tiny_model("encoder"))]
    args += [
        "--max-steps",
        "400",
        "--batch-size",
        "4",
        "--max-length",
        "16",
        "--patience",
        "0",
        "--precision",
        "fp32",
    ]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("[") and "Step " in line:
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 130, "".join(lines) + rest
    assert "stopping after this step and saving a checkpoint" in rest
    assert "continue with the same command plus --resume" in rest
    assert "Traceback" not in rest
    assert RunRecord(out).checkpoints() and RunRecord(out).effective_status()[0] == "cancelled"
