"""Use a fine-tuned classifier: type-to-predict (the model stays cached) and whole tables."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmstudio_app.core.data.table import DataError, read_table
from lmstudio_app.core.data.table_writer import TABLE_FORMATS, write_table
from lmstudio_app.core.errors import ModelSourceError, UserError
from lmstudio_app.core.finetune.settings import FINETUNE_FILE
from lmstudio_app.core.jsonio import read_json
from lmstudio_app.core.models.onnx_runtime import OnnxClassifier, is_onnx_folder
from lmstudio_app.core.models.quiet import quiet_transformers
from lmstudio_app.core.models.sources import check_folder
from lmstudio_app.core.outputs import check_format
from lmstudio_app.core.tasks import TaskState, ensure_state

_cache_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[float, Any, Any, int]] = {}


def load_classifier(model_dir: Path, device: str) -> tuple[Any, Any, int]:
    """(model, tokenizer, max_length) for a fine-tuned folder; the last one is cached (type-to-predict).
    An optimized folder gives an ONNX Runtime classifier that is called like the torch one."""
    import torch
    import transformers

    model_dir = Path(model_dir)
    config_file = model_dir / "config.json"
    if not config_file.is_file():
        raise ModelSourceError(
            f"{model_dir} is not a model folder (no config.json): pick a fine-tuned model folder."
        )
    config = read_json(config_file)
    if not any("ForSequenceClassification" in a for a in config.get("architectures") or []):
        raise ModelSourceError(
            f"{model_dir} is not a text classifier (no classification head): fine-tune it first."
        )
    onnx = is_onnx_folder(model_dir)  # an optimized folder (lmstudio-app optimize): ONNX Runtime runs it
    if not onnx:
        check_folder(model_dir)  # pickle-only, damaged weights or no tokenizer: one line that says what to do
    key = (str(model_dir.resolve()), device)
    stamp = config_file.stat().st_mtime
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1], hit[2], hit[3]
        with quiet_transformers():
            try:
                tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
                model = (
                    OnnxClassifier(model_dir, device=device)
                    if onnx
                    else transformers.AutoModelForSequenceClassification.from_pretrained(
                        model_dir, local_files_only=True, use_safetensors=True, dtype=torch.float32
                    )
                )
            except (OSError, ValueError) as exc:
                raise ModelSourceError(f"Could not load {model_dir}: {str(exc).splitlines()[0]}") from exc
        model.to(device).eval()
        meta = read_json(model_dir / FINETUNE_FILE)
        max_length = int(
            meta.get("max_length") or min(512, getattr(model.config, "max_position_embeddings", 512))
        )
        _cache.clear()
        _cache[key] = (stamp, model, tokenizer, max_length)
        return model, tokenizer, max_length


def predict_texts(
    model_dir: Path,
    texts: list[str],
    pairs: list[str] | None = None,
    *,
    device: str = "cpu",
    batch_size: int = 32,
    state: TaskState | None = None,
) -> list[tuple[str, float]]:
    """(label, probability) for each text, batched by similar length; the model folder is cached."""
    import torch

    state = ensure_state(state)
    if pairs is not None and len(pairs) != len(texts):
        raise UserError("Give one second text per text (or none).")
    if not texts:
        return []
    model, tokenizer, max_length = load_classifier(Path(model_dir), device)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]) + (len(pairs[i]) if pairs else 0))
    out: list[tuple[str, float] | None] = [None] * len(texts)
    id2label = model.config.id2label
    for start in range(0, len(order), batch_size):
        state.raise_if_stopped()
        idx = order[start : start + batch_size]
        enc = tokenizer(
            [texts[i] for i in idx],
            [pairs[i] for i in idx] if pairs is not None else None,
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        ).to(device)
        with torch.inference_mode():
            probs = torch.softmax(model(**enc).logits.float(), dim=-1)
        score, best = probs.max(dim=-1)
        for j, i in enumerate(idx):
            out[i] = (str(id2label[int(best[j])]), float(score[j]))
        state.progress(
            min(1.0, (start + len(idx)) / len(texts)), f"Predicted {start + len(idx):,} of {len(texts):,}"
        )
    return out  # type: ignore[return-value]


def class_probabilities(
    model_dir: Path, text: str, pair: str | None = None, device: str = "cpu"
) -> list[tuple[str, float]]:
    """Every class with its probability for one text, most likely first (the "try it" box)."""
    import torch

    model, tokenizer, max_length = load_classifier(Path(model_dir), device)
    enc = tokenizer(text, pair, truncation=True, max_length=max_length, return_tensors="pt").to(device)
    with torch.inference_mode():
        probs = torch.softmax(model(**enc).logits[0].float(), dim=-1).tolist()
    labels = model.config.id2label
    return sorted(((str(labels[i]), p) for i, p in enumerate(probs)), key=lambda lp: -lp[1])


@dataclass
class TablePrediction:
    """What predict_csv wrote: every input row, the ones with an empty text left without a label, and
    what reading the table noticed (e.g. rows with every cell empty, which are not rows of the output)."""

    rows: int
    skipped_empty: int
    problems: list[str] = field(default_factory=list)


@dataclass
class TableToPredict:
    """A table read for predictions: its frame (a copy, to add columns to), its texts and second texts, and
    the rows with a text (the others are written back without a prediction)."""

    table: Any
    frame: Any
    texts: list[str]
    pairs: list[str] | None
    rows: list[int]


def table_to_predict(
    csv_in: Path, csv_out: Path, text_column: str, text_pair_column: str | None, state: TaskState
) -> TableToPredict:
    """Check the output's name (before any work: predictions must not be lost to a bad name), then read
    the table and its text columns."""
    check_format(csv_out, TABLE_FORMATS)
    if csv_out.resolve() == csv_in.resolve():
        raise UserError("The output file must differ from the input file (the input is never overwritten).")
    table = read_table(csv_in, state=state)
    for col in (text_column, text_pair_column):
        if col is not None and col not in table.columns:
            raise DataError(
                f"Column {col!r} is not in {csv_in.name}; its columns are: {', '.join(table.columns)}."
            )
    frame = table.frame.copy()
    texts = frame[text_column].astype(str).tolist()
    pairs = frame[text_pair_column].astype(str).tolist() if text_pair_column else None
    return TableToPredict(table, frame, texts, pairs, [i for i, t in enumerate(texts) if t.strip()])


def predict_csv(
    model_dir: Path,
    csv_in: Path,
    text_column: str,
    csv_out: Path,
    *,
    text_pair_column: str | None = None,
    device: str = "cpu",
    state: TaskState | None = None,
) -> TablePrediction:
    """Predict every row of a table into csv_out, atomically, in the format its suffix names (see
    write_table): the input's columns plus predicted_label, score and note. Output rows match input
    rows one to one; a row with an empty text gets no label, no score and the note "empty text"."""
    state = ensure_state(state)
    given = table_to_predict(Path(csv_in), Path(csv_out), text_column, text_pair_column, state)
    frame, texts, pairs, rows = given.frame, given.texts, given.pairs, given.rows
    results = predict_texts(
        Path(model_dir),
        [texts[i] for i in rows],
        [pairs[i] for i in rows] if pairs is not None else None,
        device=device,
        state=state,
    )
    labels, notes = [""] * len(texts), ["empty text"] * len(texts)
    scores: list[float | None] = [None] * len(texts)
    for i, (label, score) in zip(rows, results, strict=True):
        labels[i], scores[i], notes[i] = label, round(score, 4), ""
    frame["predicted_label"] = labels
    frame["score"] = scores  # a number (a workbook's cell too); empty for an empty text
    frame["note"] = notes
    write_table(frame, csv_out)
    return TablePrediction(len(frame), len(texts) - len(rows), list(given.table.problems))
