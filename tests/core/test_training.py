"""The fine-tuning engine on tiny random BERTs: results, cancel + resume, out-of-memory retry, bad settings."""

from __future__ import annotations

import functools
import json
import random
import sys
from pathlib import Path

import pytest

from lmstudio_app.core.data.labeled import LabeledData, prepare, split
from lmstudio_app.core.data.table import DataError, read_table
from lmstudio_app.core.errors import DeviceError, UserError
from lmstudio_app.core.finetune.encode import encode
from lmstudio_app.core.finetune.job import fine_tune, resume_run
from lmstudio_app.core.finetune.predict import predict_csv, predict_texts
from lmstudio_app.core.finetune.settings import FineTuneResult, FineTuneSettings
from lmstudio_app.core.tasks import Cancelled, TaskState
from lmstudio_app.core.training import runs
from lmstudio_app.core.training.record import RunRecord

POS = "good great happy love like".split()
NEG = "bad terrible sad hate awful".split()
FILLER = "the a cat dog sat on mat".split()


def sentiment_csv(path: Path, rows: int = 48, seed: int = 0) -> Path:
    rng = random.Random(seed)
    lines = ["text,label"]
    for _ in range(rows):
        label = rng.choice(["pos", "neg"])
        words = rng.choices(POS if label == "pos" else NEG, k=3) + rng.choices(FILLER, k=rng.randint(1, 8))
        rng.shuffle(words)
        lines.append(f"{' '.join(words)},{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sentiment_data(tmp_path: Path, rows: int = 48) -> tuple[LabeledData, LabeledData]:
    data = prepare(read_table(sentiment_csv(tmp_path / "data.csv", rows)), "text", "label")
    return split(data, 0.25, seed=0)


def tiny_settings(base: Path, **overrides) -> FineTuneSettings:
    values = dict(
        base_model=str(base),
        batch_size=8,
        learning_rate=5e-3,
        max_length=32,
        patience=0,
        max_steps=6,
        seed=3,
        precision="fp32",
    )
    values.update(overrides)
    return FineTuneSettings(**values)


def test_fine_tune_writes_a_loadable_classifier_whose_confusion_matches_sklearn(tmp_path, tiny_model):
    from sklearn.metrics import accuracy_score, confusion_matrix
    from transformers import AutoModelForSequenceClassification

    train, val = sentiment_data(tmp_path)
    events: list[dict] = []
    progress: list[float] = []
    run_dir = tmp_path / "run"
    result = fine_tune(
        train,
        val,
        tiny_settings(tiny_model("encoder"), eval_steps=3),
        run_dir,
        on_event=events.append,
        state=TaskState(lambda f, m: progress.append(f)),
    )
    logs = [e for e in events if e["type"] == "log"]
    evals = [e for e in events if e["type"] == "eval"]
    assert [e["step"] for e in logs] == [1, 2, 3, 4, 5, 6]
    assert set(logs[0]) >= {"step", "max_steps", "epoch", "loss", "learning_rate", "samples_per_s", "eta_s"}
    assert logs[-1]["max_steps"] == 6 and logs[-1]["samples_per_s"] > 0
    assert [e["step"] for e in evals] == [3, 6]
    assert {"eval_loss", "eval_accuracy", "eval_macro_f1"} <= set(evals[0])
    assert progress[-1] == 1.0
    known = [f for f in progress if f >= 0]  # tokenizing, training and saving: the bar never goes back
    assert known == sorted(known) and known[0] == 0.0

    assert result.labels == ["neg", "pos"]
    assert result.model_dir == run_dir / "model"
    model = AutoModelForSequenceClassification.from_pretrained(result.model_dir)
    assert model.config.id2label == {0: "neg", 1: "pos"}
    assert model.config.label2id == {"neg": 0, "pos": 1}

    predicted = [label for label, _ in predict_texts(result.model_dir, val.texts)]
    assert result.confusion == confusion_matrix(val.labels, predicted, labels=result.labels).tolist()
    assert result.metrics["eval_accuracy"] == pytest.approx(accuracy_score(val.labels, predicted))
    assert sum(c["support"] for c in result.per_class.values()) == len(val)
    wrong = [(t, p) for t, p, y in zip(val.texts, predicted, val.labels, strict=True) if p != y]
    assert sorted((m["text"], m["predicted"]) for m in result.misclassified) == sorted(wrong)

    assert (
        json.loads((run_dir / "metrics.json").read_text())["eval_macro_f1"] == result.metrics["eval_macro_f1"]
    )
    assert RunRecord(run_dir).checkpoints() == []  # a finished run keeps the model, not the optimizer state
    info = runs.list_runs(tmp_path)[0]
    assert (info.status, info.step, info.has_model) == ("finished", 6, True)
    reopened = FineTuneResult.load(run_dir)
    assert reopened.confusion == result.confusion and reopened.per_class == result.per_class
    assert [e["step"] for e in reopened.history if e["type"] == "log"] == [1, 2, 3, 4, 5, 6]


def test_cancel_then_resume_continues_from_the_saved_step(tmp_path, tiny_model):
    """A cancelled-and-resumed run ends with the same weights as an uninterrupted one: the optimizer,
    scheduler and random states really came back from the checkpoint."""
    from safetensors.torch import load_file

    base = tiny_model("encoder")
    train, val = sentiment_data(tmp_path)
    full = fine_tune(train, val, tiny_settings(base, max_steps=6, eval_steps=6), tmp_path / "full")

    state = TaskState()

    def cancel_at_3(event: dict) -> None:  # as a Cancel click while step 3 is shown: stops after step 4
        if event["type"] == "log" and event["step"] == 3:
            state.request_stop()

    run_dir = tmp_path / "cut"
    with pytest.raises(Cancelled):
        fine_tune(
            train,
            val,
            tiny_settings(base, max_steps=6, eval_steps=6),
            run_dir,
            state=state,
            on_event=cancel_at_3,
        )
    (checkpoint,) = RunRecord(run_dir).checkpoints()
    assert checkpoint.name == "checkpoint-4"
    assert (checkpoint / "optimizer.pt").is_file() and (checkpoint / "scheduler.pt").is_file()
    info = runs.run_info(run_dir)
    assert (info.status, info.step, info.resumable) == ("cancelled", 4, True)
    assert not (run_dir / "model").exists()

    events: list[dict] = []
    resumed = resume_run(run_dir, on_event=events.append)  # rebuilds the data from settings.json
    assert [e["step"] for e in events if e["type"] == "log"] == [5, 6]
    assert [e["step"] for e in RunRecord(run_dir).history() if e["type"] == "log"] == [1, 2, 3, 4, 5, 6]
    assert runs.run_info(run_dir).status == "finished"
    a = load_file(full.model_dir / "model.safetensors")
    b = load_file(resumed.model_dir / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert (a[name] - b[name]).abs().max().item() < 1e-5, name
    assert resumed.metrics["eval_loss"] == pytest.approx(full.metrics["eval_loss"], abs=1e-5)


def test_injected_out_of_memory_halves_the_batch_and_doubles_accumulation(tmp_path, tiny_model, monkeypatch):
    import torch
    from transformers import BertForSequenceClassification

    forward = BertForSequenceClassification.forward
    seen_batches: list[int] = []

    @functools.wraps(forward)  # keeps the signature, so the Trainer still passes labels
    def forward_that_runs_out_of_memory(self, input_ids=None, **kwargs):
        seen_batches.append(input_ids.shape[0])
        if input_ids.shape[0] > 4:
            raise torch.OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 2.00 GiB (injected by the test)"
            )
        return forward(self, input_ids=input_ids, **kwargs)

    monkeypatch.setattr(BertForSequenceClassification, "forward", forward_that_runs_out_of_memory)
    train, val = sentiment_data(tmp_path)
    events: list[dict] = []
    messages: list[str] = []
    run_dir = tmp_path / "oom"
    result = fine_tune(
        train,
        val,
        tiny_settings(tiny_model("encoder"), batch_size=8, max_steps=2),
        run_dir,
        on_event=events.append,
        state=TaskState(lambda f, m: messages.append(m)),
    )
    (oom,) = [e for e in events if e["type"] == "oom"]
    assert (oom["batch_size"], oom["grad_accum"]) == (4, 2)
    assert "Out of memory" in oom["message"] and "same effective batch" in oom["message"]
    assert any(m.startswith("Out of memory") for m in messages)  # the user is told, not only the log
    assert seen_batches[0] == 8 and max(seen_batches[1:]) == 4
    assert result.metrics["global_step"] == 2
    saved = RunRecord(run_dir).saved_settings().settings
    assert (saved["batch_size"], saved["grad_accum"]) == (4, 2)  # a resume keeps the batch that fits


def test_out_of_memory_at_batch_size_one_is_a_user_error(tmp_path, tiny_model, monkeypatch):
    import torch
    from transformers import BertForSequenceClassification

    @functools.wraps(BertForSequenceClassification.forward)
    def always_oom(self, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory (injected)")

    monkeypatch.setattr(BertForSequenceClassification, "forward", always_oom)
    train, val = sentiment_data(tmp_path, rows=12)
    events: list[dict] = []
    with pytest.raises(UserError, match="even with batch size 1"):
        fine_tune(
            train,
            val,
            tiny_settings(tiny_model("encoder"), batch_size=2),
            tmp_path / "r",
            on_event=events.append,
        )
    assert [e["batch_size"] for e in events if e["type"] == "oom"] == [1]
    assert runs.run_info(tmp_path / "r").status == "failed"


def test_cancel_before_training_starts(tmp_path, tiny_model):
    train, val = sentiment_data(tmp_path)
    state = TaskState()
    state.request_stop()
    with pytest.raises(Cancelled):
        fine_tune(train, val, tiny_settings(tiny_model("encoder")), tmp_path / "r", state=state)
    assert runs.run_info(tmp_path / "r").status == "cancelled"


def test_bad_data_and_settings_are_refused_clearly(tmp_path, tiny_model):
    base = tiny_model("encoder")
    train, val = sentiment_data(tmp_path)
    one_class = prepare(
        read_table(_write(tmp_path / "one.csv", "text,label\na,x\nb,x\nc,x\n")), "text", "label"
    )
    with pytest.raises(DataError, match="only one class"):
        fine_tune(one_class, one_class, tiny_settings(base), tmp_path / "a")
    empty_val = split(train, 0.5)[0]
    with pytest.raises(DataError, match="no validation rows"):
        fine_tune(train, type(empty_val)([], None, [], []), tiny_settings(base), tmp_path / "b")
    with pytest.raises(DeviceError, match="fp16"):
        fine_tune(train, val, tiny_settings(base, precision="fp16", device="cpu"), tmp_path / "c")
    with pytest.raises(UserError, match="Learning rate"):
        fine_tune(train, val, tiny_settings(base, learning_rate=3.0), tmp_path / "d")
    with pytest.raises(UserError, match="does not exist: run without --resume"):
        fine_tune(train, val, tiny_settings(base), tmp_path / "e", resume=True)
    with pytest.raises(UserError, match="Folder not found"):
        fine_tune(train, val, tiny_settings(tmp_path / "no-such-model"), tmp_path / "f")
    with pytest.raises(UserError, match="not on this machine"):  # training never downloads
        fine_tune(train, val, tiny_settings("someone/not-cached-model"), tmp_path / "g")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_extremely_long_texts_are_truncated_and_counted(tmp_path, tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model("encoder"))
    texts = ["the cat " * 5000, "a dog", "good " * 40, "sad"]
    data = LabeledData(texts, None, ["x", "y", "x", "y"], ["x", "y"])
    dataset, truncated = encode(tokenizer, data, {"x": 0, "y": 1}, max_length=16)
    assert truncated == 2
    assert [len(dataset[i]["input_ids"]) for i in range(4)] == [16, 4, 16, 3]
    assert dataset[0]["input_ids"][-1] == tokenizer.sep_token_id  # cut properly, [SEP] kept
    pairs = LabeledData(texts, ["x " * 100, "y", "z", "w"], ["x", "y", "x", "y"], ["x", "y"])
    dataset, truncated = encode(tokenizer, pairs, {"x": 0, "y": 1}, max_length=16)
    assert truncated == 2 and max(len(dataset[i]["input_ids"]) for i in range(4)) == 16
    assert "token_type_ids" in dataset[0]


def test_predict_csv_adds_columns_and_keeps_every_row(tmp_path, tiny_model):
    classifier = tiny_model("classifier")
    path = _write(tmp_path / "in.csv", 'id,text\n1,good film\n2,\n3,"bad, sad"\n')
    out = tmp_path / "out" / "pred.csv"
    done = predict_csv(classifier, path, "text", out)
    assert (done.rows, done.skipped_empty) == (3, 1)
    table = read_table(out)
    assert table.columns == ["id", "text", "predicted_label", "score", "note"]
    assert table.frame["predicted_label"][1] == ""  # blank text: nothing predicted, row kept, reason given
    assert list(table.frame["note"]) == ["", "empty text", ""]
    assert set(table.frame["predicted_label"][[0, 2]]) <= {"label_0", "label_1"}
    assert 0.5 <= float(table.frame["score"][0]) <= 1.0
    with pytest.raises(DataError, match="'review' is not in in.csv"):
        predict_csv(classifier, path, "review", out)
    with pytest.raises(UserError, match="must differ from the input"):
        predict_csv(classifier, path, "text", path)
    with pytest.raises(UserError, match="not a text classifier"):
        predict_texts(tiny_model("encoder"), ["x"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities are a Linux feature")
def test_a_run_in_a_background_thread_yields_the_cpu_to_the_gui_thread(tmp_path, tiny_model):
    import os
    import threading

    train, val = sentiment_data(tmp_path, rows=12)
    state = TaskState()
    state.request_stop()  # stops before training: only the set-up runs
    seen: dict[str, int] = {}

    def job() -> None:
        with pytest.raises(Cancelled):
            fine_tune(train, val, tiny_settings(tiny_model("encoder")), tmp_path / "r", state=state)
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    assert seen["nice"] >= 10
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < 10  # the main thread is untouched


def test_a_restored_best_checkpoint_is_reported_as_its_own_step(tmp_path, tiny_model):
    """Early stopping keeps the best model: the run says which step it was and reports that step's figures."""
    train, val = sentiment_data(tmp_path)
    events: list[dict] = []
    settings = tiny_settings(tiny_model("encoder"), learning_rate=0.5, eval_steps=1, max_steps=8, patience=2)
    result = fine_tune(train, val, settings, tmp_path / "best", on_event=events.append)
    evals = [e for e in events if e["type"] == "eval" and not e.get("final")]
    best = min(evals, key=lambda e: e["eval_loss"])
    last = evals[-1]["step"]
    assert best["step"] < last, "the test needs a run that got worse after its best evaluation"
    said = [e["message"] for e in events if e["type"] == "status" and e["message"].startswith("Restored")]
    assert said == [
        f"Restored the best model, from step {best['step']} (eval_loss {best['eval_loss']:.4f}); "
        f"training went on to step {last} without improving"
    ]
    assert (result.metrics["global_step"], result.metrics["last_step"]) == (best["step"], last)
    assert result.metrics["eval_loss"] == pytest.approx(best["eval_loss"], abs=1e-6)
