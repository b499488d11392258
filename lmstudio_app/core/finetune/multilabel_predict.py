"""Use a multi-label classifier: every label's probability (a sigmoid each), and the labels at or above the
folder's threshold, for one text (type-to-predict), many texts or a whole table.

The model is loaded like any fine-tuned classifier (predict.load_classifier: cached, torch or ONNX); what
makes a folder multi-label is its finetune.json ("multi_label", "threshold", "separator").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lmstudio_app.core.data.multilabel import JSON_LISTS, join_labels
from lmstudio_app.core.data.table_writer import write_table
from lmstudio_app.core.errors import ModelSourceError, UserError
from lmstudio_app.core.finetune.predict import TablePrediction, load_classifier, table_to_predict
from lmstudio_app.core.finetune.settings import FINETUNE_FILE
from lmstudio_app.core.jsonio import read_json
from lmstudio_app.core.tasks import TaskState, ensure_state

SCORE_PREFIX = "score_"  # a batch prediction's column of one label's probability: score_<label>


def is_multi_label(model_dir: Path | str) -> bool:
    """Whether a folder's finetune.json says it is a multi-label classifier; cheap, no weights read."""
    return bool(read_json(Path(model_dir) / FINETUNE_FILE).get("multi_label"))


@dataclass
class LabelScores:
    """One text's labels: every label with its probability (most likely first), and those predicted (at or
    above the threshold, in the model's label order)."""

    scores: list[tuple[str, float]]
    predicted: list[str]
    threshold: float

    def to_dict(self) -> dict:
        return {
            "labels": [{"label": name, "score": score} for name, score in self.scores],
            "predicted": self.predicted,
        }


@dataclass(frozen=True)
class Reading:
    """How a multi-label folder turns probabilities into labels, and writes them."""

    threshold: float
    separator: str


def reading(model_dir: Path, threshold: float | None = None) -> Reading:
    """The folder's threshold (or `threshold`, when given) and separator; refuses a single-label folder."""
    meta = read_json(Path(model_dir) / FINETUNE_FILE)
    if not meta.get("multi_label"):
        kind = "a single-label classifier (one label per text)" if meta else "not a multi-label classifier"
        raise ModelSourceError(
            f"{model_dir} is {kind}: a threshold and several labels per text are for a model fine-tuned "
            "with --multi-label."
        )
    if threshold is not None and not 0 < threshold < 1:
        raise UserError(f"The threshold must be between 0 and 1 (exclusive), not {threshold}.")
    chosen = threshold if threshold is not None else float(meta.get("threshold") or 0.5)
    separator = meta.get("separator")
    return Reading(chosen, separator if isinstance(separator, str) else JSON_LISTS)


def score_texts(
    model_dir: Path,
    texts: list[str],
    pairs: list[str] | None = None,
    *,
    threshold: float | None = None,
    device: str = "cpu",
    batch_size: int = 32,
    state: TaskState | None = None,
) -> list[LabelScores]:
    """Every label's probability for each text, batched by similar length; the model folder stays cached."""
    import torch

    state = ensure_state(state)
    rule = reading(Path(model_dir), threshold)
    if pairs is not None and len(pairs) != len(texts):
        raise UserError("Give one second text per text (or none).")
    if not texts:
        return []
    model, tokenizer, max_length = load_classifier(Path(model_dir), device)
    names = [str(model.config.id2label[i]) for i in range(len(model.config.id2label))]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]) + (len(pairs[i]) if pairs else 0))
    out: list[LabelScores | None] = [None] * len(texts)
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
            probs = torch.sigmoid(model(**enc).logits.float()).tolist()
        for j, i in enumerate(idx):
            ranked = sorted(zip(names, probs[j], strict=True), key=lambda lp: -lp[1])
            predicted = [name for name, p in zip(names, probs[j], strict=True) if p >= rule.threshold]
            out[i] = LabelScores(ranked, predicted, rule.threshold)
        done = start + len(idx)
        state.progress(min(1.0, done / len(texts)), f"Predicted {done:,} of {len(texts):,}")
    return out  # type: ignore[return-value]


def label_scores(
    model_dir: Path, text: str, pair: str | None = None, device: str = "cpu", threshold: float | None = None
) -> LabelScores:
    """Every label's probability for one text (the "try it" box)."""
    return score_texts(
        Path(model_dir), [text], [pair] if pair is not None else None, threshold=threshold, device=device
    )[0]


def predict_table(
    model_dir: Path,
    csv_in: Path,
    text_column: str,
    csv_out: Path,
    *,
    text_pair_column: str | None = None,
    threshold: float | None = None,
    device: str = "cpu",
    state: TaskState | None = None,
) -> TablePrediction:
    """Predict every row of a table into csv_out (atomically, in the format its suffix names): the input's
    columns plus predicted_labels (joined as the training data joined them), score_<label> for every label
    and note. A row with an empty text gets no labels, no scores and the note "empty text"."""
    state = ensure_state(state)
    rule = reading(Path(model_dir), threshold)  # a single-label folder is refused before the table is read
    given = table_to_predict(Path(csv_in), Path(csv_out), text_column, text_pair_column, state)
    texts, rows = given.texts, given.rows
    results = score_texts(
        Path(model_dir),
        [texts[i] for i in rows],
        [given.pairs[i] for i in rows] if given.pairs is not None else None,
        threshold=rule.threshold,
        device=device,
        state=state,
    )
    model, _, _ = load_classifier(Path(model_dir), device)
    names = [str(model.config.id2label[i]) for i in range(len(model.config.id2label))]
    predicted, notes = [""] * len(texts), ["empty text"] * len(texts)
    scores: dict[str, list[float | None]] = {name: [None] * len(texts) for name in names}
    for i, result in zip(rows, results, strict=True):
        predicted[i], notes[i] = join_labels(result.predicted, rule.separator), ""
        for name, p in result.scores:
            scores[name][i] = round(p, 4)
    frame = given.frame
    frame["predicted_labels"] = predicted
    for name in names:
        frame[SCORE_PREFIX + name] = scores[name]  # numbers (a workbook's cells too); empty for an empty text
    frame["note"] = notes
    write_table(frame, csv_out)
    return TablePrediction(len(frame), len(texts) - len(rows), list(given.table.problems))
