"""Distillation: the soft-target loss against a hand computation, a student made of the teacher's own
layers, and a tiny teacher distilled into a 1-layer student that answers as it does."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch

from lmstudio_app.core.data.labeled import prepare, split
from lmstudio_app.core.data.table import read_table
from lmstudio_app.core.finetune.distill import DistillJob, DistillSettings, distill
from lmstudio_app.core.finetune.job import fine_tune
from lmstudio_app.core.finetune.predict import predict_texts
from lmstudio_app.core.finetune.settings import FineTuneSettings
from lmstudio_app.core.finetune.soft_targets import distillation_loss
from lmstudio_app.core.finetune.student import layer_indices, student_from_layers
from lmstudio_app.core.training.record import RunRecord
from tests.distill_helpers import rule_csv, rule_text, tiny_bert

STUDENT = [[1.0, -0.5, 2.0], [0.3, 0.2, -1.0], [-2.0, 0.0, 0.5]]
TEACHER = [[0.5, 0.1, 3.0], [-1.0, 2.0, 0.0], [0.0, 0.0, 0.0]]
LABELS = [2, 1, 0]
COMMON = dict(
    batch_size=16, learning_rate=3e-3, max_length=32, patience=0, seed=1, precision="fp32", device="cpu"
)


def _softmax(row: list[float], temperature: float) -> list[float]:
    e = [math.exp(v / temperature) for v in row]
    return [x / sum(e) for x in e]


@pytest.mark.parametrize(
    ("temperature", "alpha"), [(1.0, 0.5), (2.0, 0.9), (4.0, 0.0), (0.5, 1.0), (3.0, 0.25)]
)
def test_distillation_loss_equals_a_hand_computation(temperature, alpha):
    kl = ce = 0.0
    for s, t, y in zip(STUDENT, TEACHER, LABELS, strict=True):
        p_t, p_s = _softmax(t, temperature), _softmax(s, temperature)
        kl += sum(a * (math.log(a) - math.log(b)) for a, b in zip(p_t, p_s, strict=True))
        ce -= math.log(_softmax(s, 1.0)[y])
    n = len(LABELS)
    expected = alpha * temperature**2 * kl / n + (1 - alpha) * ce / n
    got = distillation_loss(
        torch.tensor(STUDENT), torch.tensor(TEACHER), torch.tensor(LABELS), temperature, alpha
    )
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_soft_part_vanishes_with_its_gradient_when_the_student_matches_the_teacher():
    student = torch.tensor(TEACHER, requires_grad=True)
    loss = distillation_loss(student, torch.tensor(TEACHER), torch.tensor(LABELS), 2.0, 1.0)
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert student.grad.abs().max().item() == pytest.approx(0.0, abs=1e-6)


def test_every_other_layer_is_kept():
    assert layer_indices(6, 3) == [0, 2, 4]
    assert layer_indices(12, 6) == [0, 2, 4, 6, 8, 10]
    assert layer_indices(6, 1) == [0]
    assert layer_indices(6, 4) == [0, 1, 3, 4]


def test_student_of_layers_0_2_4_has_exactly_their_weights_and_the_teachers_embeddings_and_head(tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = tiny_bert(tmp_path / "teacher", labels=("neg", "pos", "other"))
    teacher = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    student = student_from_layers(teacher, [0, 2, 4]).eval()
    assert student.config.num_hidden_layers == 3 and len(student.bert.encoder.layer) == 3
    assert student.config.id2label == {0: "neg", 1: "pos", 2: "other"}
    theirs, ours = teacher.state_dict(), student.state_dict()
    expected = {}
    for key, value in theirs.items():
        if key.startswith("bert.encoder.layer."):
            old, _, rest = key.removeprefix("bert.encoder.layer.").partition(".")
            if int(old) in (0, 2, 4):
                expected[f"bert.encoder.layer.{[0, 2, 4].index(int(old))}.{rest}"] = value
        else:
            expected[key] = value  # embeddings, pooler, classifier
    assert set(ours) == set(expected)
    assert all(torch.equal(ours[k], expected[k]) for k in ours)

    # The student's logits are the teacher's embeddings through its layers 0, 2, 4, pooler and head, by hand.
    enc = AutoTokenizer.from_pretrained(folder)(["the cat sat on the mat"], return_tensors="pt")
    with torch.inference_mode():
        hidden = teacher.bert.embeddings(input_ids=enc["input_ids"], token_type_ids=enc["token_type_ids"])
        for j in (0, 2, 4):
            out = teacher.bert.encoder.layer[j](hidden)
            hidden = out[0] if isinstance(out, tuple) else out
        by_hand = teacher.classifier(teacher.bert.pooler(hidden))
        assert torch.allclose(student(**enc).logits, by_hand, atol=1e-5)
        assert not torch.allclose(
            teacher(**enc, output_hidden_states=True).hidden_states[-1], hidden, atol=1e-2
        )


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A tiny 6-layer teacher fine-tuned on the keyword rule (seconds), and its data."""
    tmp = tmp_path_factory.mktemp("teacher")
    data = prepare(read_table(rule_csv(tmp / "rule.csv", 160)), "text", "label")
    train, val = split(data, 0.25, seed=0)
    base = tiny_bert(tmp / "base")
    result = fine_tune(train, val, FineTuneSettings(base_model=str(base), epochs=4, **COMMON), tmp / "run")
    assert result.metrics["eval_accuracy"] >= 0.9  # the teacher learned the rule
    return result.model_dir, tmp / "rule.csv"


def _flipped(path, out):
    lines = path.read_text().splitlines()
    swap = {"pos": "neg", "neg": "pos"}
    out.write_text(
        "\n".join([lines[0], *(f"{t.rpartition(',')[0]},{swap[t.rpartition(',')[2]]}" for t in lines[1:])])
    )
    return out


def _agreement(a, b, texts) -> float:
    x = [label for label, _ in predict_texts(a, texts)]
    y = [label for label, _ in predict_texts(b, texts)]
    return sum(p == q for p, q in zip(x, y, strict=True)) / len(texts)


def test_job_starts_its_student_from_the_teachers_layers(teacher, tmp_path):
    from transformers import AutoModelForSequenceClassification

    model_dir, csv = teacher
    train, val = split(prepare(read_table(csv), "text", "label"), 0.25, seed=0)
    job = DistillJob(
        train, val, DistillSettings(teacher=str(model_dir), student_layers=3, **COMMON), None, tmp_path
    )
    fresh = job.student_model().state_dict()
    theirs = AutoModelForSequenceClassification.from_pretrained(model_dir).state_dict()
    for i, j in enumerate([0, 2, 4]):
        key = "bert.encoder.layer.{}.attention.self.query.weight"
        assert torch.equal(fresh[key.format(i)], theirs[key.format(j)])
    assert torch.equal(fresh["classifier.weight"], theirs["classifier.weight"])
    assert torch.equal(
        fresh["bert.embeddings.word_embeddings.weight"], theirs["bert.embeddings.word_embeddings.weight"]
    )


def test_one_layer_student_answers_as_its_teacher_and_is_a_normal_classifier_folder(teacher, tmp_path):
    model_dir, csv = teacher
    train, val = split(prepare(read_table(csv), "text", "label"), 0.25, seed=0)
    settings = DistillSettings(
        teacher=str(model_dir), student_layers=1, epochs=3, temperature=3.0, alpha=0.7, **COMMON
    )
    result = distill(train, val, settings, tmp_path / "run")
    rng = random.Random(9)
    fresh = [rule_text(rng, rng.choice(["pos", "neg"])) for _ in range(200)]
    assert _agreement(model_dir, result.model_dir, fresh) >= 0.85  # chance is about 0.5
    assert result.metrics["eval_teacher_agreement"] == pytest.approx(
        _agreement(model_dir, result.model_dir, val.texts)
    )
    meta = json.loads((result.model_dir / "finetune.json").read_text())
    assert meta["labels"] == ["neg", "pos"]
    assert meta["settings"]["teacher"] == str(model_dir)
    assert (
        meta["settings"]["temperature"],
        meta["settings"]["alpha"],
        meta["settings"]["student_layers"],
    ) == (3.0, 0.7, 1)
    config = json.loads((result.model_dir / "config.json").read_text())
    assert config["num_hidden_layers"] == 1 and config["architectures"] == ["BertForSequenceClassification"]
    saved = RunRecord(tmp_path / "run").saved_settings()
    assert saved.kind == "distill" and saved.job["teacher_layers_kept"] == [0]


def test_soft_targets_alone_keep_the_student_with_its_teacher_against_flipped_labels(teacher, tmp_path):
    """With alpha = 1 the student learns only from the teacher, so it keeps answering as the teacher does
    although every hard label says the opposite; with alpha = 0 the flipped labels pull it away."""
    model_dir, csv = teacher
    flipped = prepare(read_table(_flipped(csv, tmp_path / "flipped.csv")), "text", "label")
    train, val = split(flipped, 0.25, seed=0)
    agreement = {}
    for alpha in (1.0, 0.0):
        settings = DistillSettings(teacher=str(model_dir), student_layers=1, epochs=3, alpha=alpha, **COMMON)
        result = distill(train, val, settings, tmp_path / f"alpha{alpha:g}")
        agreement[alpha] = result.metrics["eval_teacher_agreement"]
        assert result.metrics["teacher_eval_accuracy"] <= 0.1  # the teacher disagrees with the flipped labels
    assert agreement[1.0] >= 0.85 and agreement[0.0] <= 0.7


def test_a_cancelled_distillation_resumes_to_the_weights_of_an_uninterrupted_one(teacher, tmp_path):
    from safetensors.torch import load_file

    from lmstudio_app.core.finetune.distill import resume_distill
    from lmstudio_app.core.tasks import Cancelled, TaskState

    model_dir, csv = teacher
    train, val = split(prepare(read_table(csv), "text", "label"), 0.25, seed=0)
    settings = DistillSettings(
        teacher=str(model_dir), student_layers=1, **{**COMMON, "max_steps": 6, "eval_steps": 6}
    )
    full = distill(train, val, settings, tmp_path / "full")
    state = TaskState()

    def cancel_at_3(event: dict) -> None:  # a Cancel click while step 3 is shown: stops after step 4
        if event["type"] == "log" and event["step"] == 3:
            state.request_stop()

    with pytest.raises(Cancelled):
        distill(train, val, settings, tmp_path / "cut", state=state, on_event=cancel_at_3)
    assert [c.name for c in RunRecord(tmp_path / "cut").checkpoints()] == ["checkpoint-4"]
    events: list[dict] = []
    resumed = resume_distill(tmp_path / "cut", on_event=events.append)  # data and soft targets rebuilt
    assert [e["step"] for e in events if e["type"] == "log"] == [5, 6]
    a, b = load_file(full.model_dir / "model.safetensors"), load_file(resumed.model_dir / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] - b[k]).abs().max().item() < 1e-5 for k in a)
    assert resumed.metrics["eval_teacher_agreement"] == full.metrics["eval_teacher_agreement"]
