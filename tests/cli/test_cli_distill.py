"""`lmstudio-app distill` end to end on tiny BERTs: a student folder `predict -m` uses, a student with its
own vocabulary, and every refusal in one line with exit status 2 before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmstudio_app.cli import main
from tests.distill_helpers import rule_csv, tiny_bert
from tests.tiny_models import vocab

QUICK = [
    "--max-steps",
    "2",
    "--batch-size",
    "8",
    "--max-length",
    "32",
    "--device",
    "cpu",
    "--precision",
    "fp32",
]


def run_cli(capsys, *argv: object) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # a usage error: argparse exits
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _classifier_size(folder: Path) -> int:
    """Parameters of `folder` loaded as a 2-class classifier (the count the refusal compares)."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A 6-layer classifier teacher (neg, pos), a plain encoder, a wider student, a student with its own
    vocabulary, and a table of the teacher's labels."""
    tmp = tmp_path_factory.mktemp("distill_cli")
    return {
        "teacher": tiny_bert(tmp / "teacher", labels=("neg", "pos")),
        "encoder": tiny_bert(tmp / "encoder", layers=2),
        "wider": tiny_bert(tmp / "wider", layers=6, hidden=64),
        "own_vocab": tiny_bert(tmp / "own_vocab", layers=1, words=vocab()[:5] + sorted(vocab()[5:])),
        "csv": rule_csv(tmp / "rule.csv", 40),
    }


def distill_args(folders: dict[str, Path], out: Path, *student: object) -> list[object]:
    return [
        "distill", "--teacher", folders["teacher"], *student, "--csv", folders["csv"], "--text-column", "text",
        "--label-column", "label", "-o", out, *QUICK,
    ]  # fmt: skip


def test_distill_writes_a_student_that_predict_uses(folders, tmp_path, capsys):
    out = tmp_path / "student"
    args = distill_args(folders, out, "--student-layers", "2")
    code, stdout, err = run_cli(capsys, *args, "--temperature", "3", "--alpha", "0.7")
    assert code == 0, err
    assert "agreement with the teacher" in stdout and f"student saved to {out}" in stdout
    assert f"optimize -m {folders['teacher']} --compare {out}" in err
    meta = json.loads((out / "finetune.json").read_text())
    assert meta["settings"]["teacher"] == str(folders["teacher"])
    assert (meta["settings"]["temperature"], meta["settings"]["alpha"]) == (3.0, 0.7)
    assert json.loads((out / "config.json").read_text())["num_hidden_layers"] == 2
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["eval_teacher_agreement"] <= 1 and metrics["global_step"] == 2

    code, stdout, err = run_cli(capsys, "predict", "-m", out, "good cat", "--json")
    assert code == 0, err
    assert json.loads(stdout)[0]["label"] in ("neg", "pos")


def test_a_student_with_its_own_vocabulary_is_tokenized_twice_and_says_so(folders, tmp_path, capsys):
    out = tmp_path / "student"
    code, _, err = run_cli(capsys, *distill_args(folders, out, "--student", folders["own_vocab"]))
    assert code == 0, err
    assert "the student's tokenizer differs from the teacher's: every text is tokenized twice" in err
    assert json.loads((out / "config.json").read_text())["vocab_size"] == len(vocab())


def test_a_runs_settings_file_starts_the_same_distillation_and_its_events_say_how_it_ended(
    folders, tmp_path, capsys
):
    """The GUI's way: `distill --settings RUN/settings.json -o NEW --events FILE` trains what the file says."""
    first = tmp_path / "first"
    assert run_cli(capsys, *distill_args(folders, first, "--student-layers", "2"))[0] == 0
    again, events = tmp_path / "again", tmp_path / "events.jsonl"
    code, stdout, err = run_cli(
        capsys, "distill", "--settings", first / "settings.json", "-o", again, "--events", events
    )
    assert code == 0, err
    assert "agreement with the teacher" in stdout
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert lines[0]["type"] == "start" and lines[-1]["type"] == "end" and lines[-1]["state"] == "finished"
    assert any(e["type"] == "log" for e in lines)
    saved = json.loads((again / "settings.json").read_text())
    assert saved["kind"] == "distill" and saved["settings"]["student_layers"] == 2
    assert json.loads((again / "model" / "config.json").read_text())["num_hidden_layers"] == 2


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("not_a_classifier", "is not a fine-tuned classifier (no classification head)"),
        ("missing_teacher", "is not a model folder (no config.json)"),
        ("optimized_teacher", "is an optimized (ONNX) folder"),
        ("as_many_layers", "A student of 6 layers is not smaller than its 6-layer teacher"),
        ("wider_student", "The student wider has more parameters ({wider:,}) than the teacher ({teacher:,})"),
        ("unknown_labels", "The data has labels the teacher does not know (happy, sad)"),
        ("output_is_a_file", "cannot write"),
        ("alpha_out_of_range", "argument --alpha: 1.5 is out of range"),
        ("no_student", "distill needs --teacher DIR, --student-layers N or --student MODEL"),
    ],
)
def test_refusals_are_one_line_with_status_2_and_write_nothing(folders, tmp_path, capsys, case, message):
    out = tmp_path / "out"
    teacher = folders["teacher"]
    student: list[object] = ["--student-layers", "3"]
    extra: list[object] = []
    if case == "not_a_classifier":
        teacher = folders["encoder"]
    elif case == "missing_teacher":
        teacher = tmp_path / "nowhere"
    elif case == "optimized_teacher":
        teacher = tmp_path / "optimized"
        teacher.mkdir()
        for name in ("config.json", "model.onnx", "optimized.json"):
            (teacher / name).write_text("{}")
    elif case == "as_many_layers":
        student = ["--student-layers", "6"]
    elif case == "wider_student":
        student = ["--student", folders["wider"]]
        message = message.format(wider=_classifier_size(folders["wider"]), teacher=_classifier_size(teacher))
    elif case == "unknown_labels":
        csv = tmp_path / "moods.csv"
        csv.write_text("text,label\n" + "".join(f"the cat,{m}\nthe dog,{m}\n" for m in ("happy", "sad") * 4))
        extra = ["--csv", csv]
    elif case == "output_is_a_file":
        out.write_text("mine")
    elif case == "alpha_out_of_range":
        extra = ["--alpha", "1.5"]
    elif case == "no_student":
        student = []
    args = distill_args({**folders, "teacher": teacher}, out, *student)
    code, stdout, err = run_cli(capsys, *args, *extra)
    assert code == 2 and stdout == ""
    *said, last = err.splitlines()
    assert last.startswith("lmstudio-app: error: ") and message in last and "Traceback" not in err, err
    assert (
        all(line.startswith(("[", "12 training rows")) for line in said)
        if case == "unknown_labels"
        else not said
    )
    assert not out.is_dir()
