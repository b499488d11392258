"""Before int8 is measured: do its answers agree with the original's? If not, try the remedies in turn.

The check runs on the measurement rows with ONNX Runtime's default threads (it is not a timing), and
keeps the first recipe whose answers agree with the original's on at least 99 % of the rows, else the
best one; below 90 % the int8 model is reported as unsuitable for this model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lmstudio_app.core.models.onnx_runtime import OnnxClassifier
from lmstudio_app.core.optimize.measure import batched_logits, predictor
from lmstudio_app.core.optimize.quantize import RECIPES, quantize_int8
from lmstudio_app.core.optimize.rows import EvalRows
from lmstudio_app.core.tasks import TaskState

GOOD_AGREEMENT = 0.99
UNSUITABLE_BELOW = 0.9


@dataclass
class Int8Check:
    recipe: str
    suitable: bool
    note: str = ""
    tried: list[dict] = field(default_factory=list)  # {"recipe", "agreement"} in the order tried


def original_predictions(model: Any, tokenizer: Any, rows: EvalRows, max_length: int) -> np.ndarray:
    """The original's class ids for every row (the answers int8 must keep)."""
    return batched_logits(predictor(model, tokenizer, max_length), rows, None)[0].argmax(axis=-1)


def int8_check(
    fp32_file: Path,
    out_file: Path,
    answers: Callable[[Path], np.ndarray],
    reference: np.ndarray,
    state: TaskState,
) -> Int8Check:
    """Quantize `fp32_file` with each recipe until one agrees well enough with `reference` (the original's
    answers; `answers(onnx_file)` gives a candidate's); the chosen one ends up in `out_file`."""
    tried: list[dict] = []
    best: tuple[float, int] | None = None
    for i, recipe in enumerate(RECIPES):
        state.progress(0.1 + 0.05 * i, f"Quantizing to int8 ({recipe.name})")
        candidate = out_file.with_name(f".int8-{i}.onnx")
        quantize_int8(fp32_file, candidate, recipe)
        agreement = float(np.mean(answers(candidate) == reference))
        tried.append({"recipe": recipe.name, "agreement": round(agreement, 4)})
        if best is None or agreement > best[0]:
            if best is not None:
                out_file.with_name(f".int8-{best[1]}.onnx").unlink()
            best = (agreement, i)
        else:
            candidate.unlink()
        if agreement >= GOOD_AGREEMENT:
            break
    assert best is not None
    out_file.with_name(f".int8-{best[1]}.onnx").replace(out_file)
    return _verdict(best[0], RECIPES[best[1]].name, tried)


def classifier_answers(config_dir: Path, rows: EvalRows, max_length: int) -> Callable[[Path], np.ndarray]:
    """`answers` for int8_check: an ONNX classifier's class ids on `rows` (tokenizer and config.json from
    `config_dir`)."""
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(config_dir, local_files_only=True)

    def answers(onnx_file: Path) -> np.ndarray:
        model = OnnxClassifier(config_dir, onnx_file=onnx_file)
        return batched_logits(predictor(model, tokenizer, max_length), rows, None)[0].argmax(axis=-1)

    return answers


def _verdict(agreement: float, recipe: str, tried: list[dict]) -> Int8Check:
    check = Int8Check(recipe, agreement >= UNSUITABLE_BELOW, tried=tried)
    first = tried[0]
    if not check.suitable:
        check.note = (
            f"int8 is not suitable for this model: its answers agree with the original's on only "
            f"{agreement:.0%} of the rows, even with per-channel weights and the embeddings and attention "
            "left in float32: use onnx-fp32 instead"
        )
    elif len(tried) > 1:
        check.note = (
            f"plain int8 agreed with the original on {first['agreement']:.1%} of the rows; "
            f"'{recipe}' agrees on {agreement:.1%} and is the one saved"
        )
    return check
