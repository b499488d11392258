"""Use a fine-tuned question-answering model: one question on a passage, or every question of a file."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import ModelSourceError, UserError
from lmstudio_app.core.jsonio import read_json, write_text
from lmstudio_app.core.models.quiet import quiet_transformers
from lmstudio_app.core.models.sources import check_folder
from lmstudio_app.core.outputs import check_format
from lmstudio_app.core.qa.data import QAExample, read_qa
from lmstudio_app.core.qa.metrics import squad_metrics
from lmstudio_app.core.qa.settings import QA_FILE
from lmstudio_app.core.qa.spans import Decoded, SpanOptions, decode_windows
from lmstudio_app.core.qa.windows import make_windows
from lmstudio_app.core.tasks import TaskState, ensure_state

_cache_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[float, Any, Any, dict]] = {}


@dataclass
class QAModel:
    model: Any
    tokenizer: Any
    max_length: int
    stride: int
    options: SpanOptions


def load_qa_model(model_dir: Path, device: str = "cpu", top_k: int = 5) -> QAModel:
    """The model, tokenizer and window settings of a fine-tuned QA folder (the last one stays cached)."""
    import torch
    import transformers

    model_dir = Path(model_dir)
    config_file = model_dir / "config.json"
    if not config_file.is_file():
        raise ModelSourceError(
            f"{model_dir} is not a model folder (no config.json): pick a fine-tuned QA model."
        )
    heads = read_json(config_file).get("architectures") or []
    if not any("ForQuestionAnswering" in a for a in heads):
        head = heads[0] if heads else "no task head"
        raise ModelSourceError(
            f"{model_dir} is not a question-answering model ({head}): train one with finetune --task qa."
        )
    check_folder(model_dir)
    key, stamp = (str(model_dir.resolve()), device), config_file.stat().st_mtime
    with _cache_lock:
        hit = _cache.get(key)
        if hit is None or hit[0] != stamp:
            with quiet_transformers():
                try:
                    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
                    model = transformers.AutoModelForQuestionAnswering.from_pretrained(
                        model_dir, local_files_only=True, use_safetensors=True, dtype=torch.float32
                    )
                except (OSError, ValueError) as exc:
                    raise ModelSourceError(f"Could not load {model_dir}: {str(exc).splitlines()[0]}") from exc
            model.to(device).eval()
            _cache.clear()
            hit = _cache[key] = (stamp, model, tokenizer, read_json(model_dir / QA_FILE))
    _, model, tokenizer, meta = hit
    limit = min(512, getattr(model.config, "max_position_embeddings", 512))
    max_length = int(meta.get("max_length") or min(384, limit))
    options = SpanOptions(
        max_answer_tokens=int(meta.get("max_answer_tokens") or 30),
        top_k=top_k,
        allow_null=bool(meta.get("unanswerable", False)),
    )
    return QAModel(model, tokenizer, max_length, int(meta.get("stride", max_length // 4)), options)


def answer_examples(
    model_dir: Path,
    examples: list[QAExample],
    *,
    device: str = "cpu",
    batch_size: int = 32,
    top_k: int = 5,
    state: TaskState | None = None,
) -> list[Decoded]:
    """The best answer (and `top_k` alternatives) for each question, over all windows of its context."""
    import numpy as np
    import torch

    state = ensure_state(state)
    if not examples:
        return []
    qa = load_qa_model(Path(model_dir), device, top_k)
    windows = make_windows(qa.tokenizer, examples, qa.max_length, qa.stride, state)
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    for begin in range(0, len(windows), batch_size):
        state.raise_if_stopped()
        rows = [_inputs(windows[i]) for i in range(begin, min(len(windows), begin + batch_size))]
        batch = qa.tokenizer.pad(rows, return_tensors="pt").to(device)
        with torch.inference_mode():
            out = qa.model(**batch)
        starts.extend(out.start_logits.float().cpu().numpy())
        ends.extend(out.end_logits.float().cpu().numpy())
        done = min(len(windows), begin + batch_size)
        state.progress(done / len(windows), f"Answered {done:,} of {len(windows):,} windows")
    return decode_windows(starts, ends, windows, [e.context for e in examples], qa.options)


def _inputs(item: dict) -> dict:
    """A window's model inputs (its training targets, when the file has answers, are not needed here)."""
    return {k: v for k, v in item.items() if k in ("input_ids", "token_type_ids")}


def answer_question(
    model_dir: Path, question: str, context: str, *, device: str = "cpu", top_k: int = 5
) -> Decoded:
    """One question on one passage (the try-it box and `predict --question`)."""
    if not question.strip() or not context.strip():
        raise UserError("Give both a question and a context (the passage the answer is taken from).")
    example = QAExample("1", question, context, None, "the question")
    return answer_examples(Path(model_dir), [example], device=device, top_k=top_k)[0]


@dataclass
class FilePrediction:
    rows: int
    metrics: dict = field(default_factory=dict)  # exact match and F1 when the file has answers
    problems: list[str] = field(default_factory=list)


def predict_file(
    model_dir: Path, data: Path, out: Path, *, device: str = "cpu", state: TaskState | None = None
) -> FilePrediction:
    """Answer every question of `data` into `out` (JSON Lines: one {"id", "answer", "score"} a question,
    plus start and end); scored against the file's answers when it has them."""
    out = Path(out)
    check_format(out, (".jsonl",))
    if out.resolve() == Path(data).resolve():
        raise UserError("The output file must differ from the input file (the input is never overwritten).")
    qa_data = read_qa(data, state=state)
    load_qa_model(Path(model_dir), device)  # a wrong folder is refused before the questions are tokenized
    decoded = answer_examples(Path(model_dir), qa_data.examples, device=device, state=state)
    lines = [
        json.dumps(
            {
                "id": e.id,
                "answer": d.best.text,
                "score": d.best.score,
                "start": d.best.start,
                "end": d.best.end,
            },
            ensure_ascii=False,
        )
        + "\n"
        for e, d in zip(qa_data.examples, decoded, strict=True)
    ]
    write_text(out, "".join(lines))
    metrics = {}
    if qa_data.has_answers:
        golds = [[a.text for a in e.answers or []] for e in qa_data.examples]
        metrics = squad_metrics([d.best.text for d in decoded], golds, prefix="")
    return FilePrediction(len(lines), metrics, list(qa_data.problems))


def is_qa_model(model_dir: str | Path) -> bool:
    """Whether a folder holds a question-answering model (its config names a QA head); cheap, no weights read."""
    config = Path(model_dir) / "config.json"
    if not config.is_file():
        return False
    return any("ForQuestionAnswering" in a for a in read_json(config).get("architectures") or [])
