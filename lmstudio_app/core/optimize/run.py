"""Optimize a fine-tuned classifier: export to ONNX (fp32, or int8 with the remedies), measure every variant
side by side, and write a folder the app runs with ONNX Runtime (`predict -m OUT`, the try-it box).

The output folder is built in a hidden sibling folder and renamed at the end, so a failure or a cancel
leaves no half-written model. It holds model.onnx, the tokenizer, the original config.json and
finetune.json (labels, max length), optimized.json (what it is) and comparison.json (the table).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lmstudio_app.core.errors import ModelSourceError, UserError
from lmstudio_app.core.finetune.settings import FINETUNE_FILE
from lmstudio_app.core.jsonio import OutputError, cannot_write, read_json, write_json
from lmstudio_app.core.models.onnx_runtime import (
    KIND_CLASSIFIER,
    KIND_MASKED_LM,
    ONNX_FILE,
    OPTIMIZED_FILE,
    is_onnx_folder,
    onnxruntime_module,
)
from lmstudio_app.core.models.registry import HEAD_MLM, detect_heads
from lmstudio_app.core.models.sources import check_folder
from lmstudio_app.core.optimize.checks import classifier_answers, int8_check, original_predictions
from lmstudio_app.core.optimize.export import export_classifier, load_torch_classifier
from lmstudio_app.core.optimize.measure import VariantSpec, measure, score
from lmstudio_app.core.optimize.quantize import int8_support
from lmstudio_app.core.optimize.report import Comparison
from lmstudio_app.core.optimize.rows import EvalRows, TableSpec, resolve_rows
from lmstudio_app.core.outputs import check_output_dir
from lmstudio_app.core.tasks import TaskState, ensure_state

METHODS = ("onnx-fp32", "onnx-int8")


@dataclass(frozen=True)
class OptimizeRequest:
    """What `optimize` does: which model, how, where to, measured on which rows, beside which other models
    (e.g. a distilled student folder, or another optimized folder), with how many threads."""

    model_dir: Path
    method: str
    out_dir: Path
    table: TableSpec | None = None
    compare: tuple[Path, ...] = ()
    threads: int = 1


def model_kind(folder: Path) -> str:
    """KIND_CLASSIFIER or KIND_MASKED_LM for a torch model folder; a one-line refusal for anything else."""
    folder = Path(folder)
    if is_onnx_folder(folder):
        raise ModelSourceError(
            f"{folder} is already optimized: give the fine-tuned model folder it came from."
        )
    config = read_json(folder / "config.json")
    if not config:
        raise ModelSourceError(
            f"{folder} is not a model folder (no config.json): pick a fine-tuned model folder."
        )
    architectures = config.get("architectures") or []
    if any("ForSequenceClassification" in a for a in architectures):
        if config.get("problem_type") == "multi_label_classification":
            raise UserError(
                f"{folder} is a multi-label classifier: optimize measures one-label classifiers only for now."
            )
        return KIND_CLASSIFIER
    if HEAD_MLM in detect_heads(folder)[1]:  # ForMaskedLM, or ForPreTraining (masked LM + next sentence)
        return KIND_MASKED_LM
    raise ModelSourceError(
        f"{folder} is neither a fine-tuned classifier nor a masked LM ({', '.join(architectures) or 'no architecture'}): "
        "optimize works on a classifier from finetune, or a masked LM for fill-mask."
    )


def check_request(request: OptimizeRequest) -> str:
    """Everything that can be refused before any work, in one line each; returns the model's kind."""
    if request.method not in METHODS:
        raise UserError(f"Unknown method {request.method!r}: use {' or '.join(METHODS)}.")
    if not 1 <= request.threads <= 256:
        raise UserError(f"The number of threads must be between 1 and 256, not {request.threads}.")
    kind = model_kind(request.model_dir)
    check_folder(Path(request.model_dir))
    onnxruntime_module()
    out = check_output_dir(request.out_dir)
    if out.exists() and any(out.iterdir()):
        raise OutputError(f"cannot write {out}: it is not a new or empty folder; choose another one")
    if kind == KIND_CLASSIFIER:
        for other in request.compare:
            _compare_spec(Path(other))
    return kind


def optimize(request: OptimizeRequest, state: TaskState | None = None) -> Comparison:
    """See the module docstring; a masked LM is exported for fill-mask (core/optimize/fillmask.py)."""
    state = ensure_state(state)
    kind = check_request(request)
    out = Path(request.out_dir)
    with _building(out) as build:
        if kind == KIND_MASKED_LM:
            from lmstudio_app.core.optimize.fillmask import optimize_masked_lm

            comparison = optimize_masked_lm(request, build, state)
        else:
            state.progress(0.0, "Reading the rows to measure on")
            rows = resolve_rows(Path(request.model_dir), request.table, state)
            comparison = _optimize_classifier(request, rows, build, state)
        comparison.save(build)
    state.progress(1.0, f"Optimized model written to {out}")
    return comparison


def _optimize_classifier(
    request: OptimizeRequest, rows: EvalRows, build: Path, state: TaskState
) -> Comparison:
    model_dir, out = Path(request.model_dir), Path(request.out_dir)
    max_length = int(read_json(model_dir / FINETUNE_FILE).get("max_length") or 512)
    state.progress(0.02, "Exporting to ONNX")
    model, tokenizer = load_torch_classifier(model_dir)
    classes = [str(model.config.id2label[i]) for i in range(len(model.config.id2label))]
    rows = _known_labels(rows, classes)
    _copy_model_files(model_dir, tokenizer, build)
    int8 = request.method == "onnx-int8"
    fp32_file = (build / ".fp32.onnx") if int8 else build / ONNX_FILE
    export_classifier(model, tokenizer, fp32_file)
    comparison = Comparison(
        request.method, KIND_CLASSIFIER, str(model_dir), str(out), len(rows), rows.source, request.threads, []
    )
    comparison.notes += [rows.note] if rows.note else []
    specs = [
        VariantSpec("original", model_dir, None, max_length),
        VariantSpec("onnx-fp32", build, fp32_file, max_length),
    ]
    if int8:
        support = int8_support()
        comparison.int8_cpu = {"fast": support.fast, "note": support.note}
        if support.fast is not True:
            comparison.notes.append(support.note)
        reference = original_predictions(model, tokenizer, rows, max_length)
        answers = classifier_answers(build, rows, max_length)
        check = int8_check(fp32_file, build / ONNX_FILE, answers, reference, state)
        comparison.recipe, comparison.tried, comparison.suitable = check.recipe, check.tried, check.suitable
        comparison.notes += [check.note] if check.note else []
        specs.append(VariantSpec("onnx-int8", build, build / ONNX_FILE, max_length))
    del model
    specs += [_compare_spec(Path(p), max_length) for p in request.compare]
    for i, spec in enumerate(specs):
        state.progress(0.3 + 0.65 * i / len(specs), f"Measuring {spec.name} ({i + 1} of {len(specs)})")
        comparison.variants.append(measure(spec, rows, request.threads, state))
    reference = comparison.variants[0].predicted
    for variant in comparison.variants:
        score(variant, rows, classes, reference)
        if variant.path == str(fp32_file) and int8:
            variant.path = None  # measured, then removed: the folder holds the int8 model
        elif variant.path and variant.path.startswith(str(build)):
            variant.path = str(out / Path(variant.path).relative_to(build))
    if int8:
        fp32_file.unlink()
    _write_marker(build, request, KIND_CLASSIFIER, max_length)
    return comparison


def _known_labels(rows: EvalRows, classes: list[str]) -> EvalRows:
    """Drop (and say so) rows whose true label the model does not know; refuse when none is left."""
    if rows.labels is None:
        return rows
    keep = [i for i, label in enumerate(rows.labels) if label in classes]
    if not keep:
        shown = ", ".join(sorted(set(rows.labels))[:5])
        raise UserError(
            f"None of the labels in {rows.source} ({shown}) is one of the model's classes "
            f"({', '.join(classes[:5])}): pick the label column the model was trained on."
        )
    if len(keep) < len(rows):
        rows.note = "; ".join(
            filter(
                None,
                [rows.note, f"{len(rows) - len(keep)} rows with labels the model does not know left out"],
            )
        )
        rows.texts = [rows.texts[i] for i in keep]
        rows.pairs = [rows.pairs[i] for i in keep] if rows.pairs is not None else None
        rows.labels = [rows.labels[i] for i in keep]
    return rows


def _compare_spec(folder: Path, max_length: int = 512) -> VariantSpec:
    """An extra variant to measure: a fine-tuned classifier folder (torch) or an optimized one."""
    if is_onnx_folder(folder):
        return VariantSpec(folder.name, folder, folder / ONNX_FILE, max_length)
    if model_kind(folder) != KIND_CLASSIFIER:
        raise ModelSourceError(f"{folder} is not a classifier: only classifiers can be compared with one.")
    check_folder(folder)
    return VariantSpec(folder.name, folder, None, max_length)


def _copy_model_files(model_dir: Path, tokenizer: object, build: Path) -> None:
    """The tokenizer, the original config.json (labels) and finetune.json travel with the ONNX model."""
    try:
        tokenizer.save_pretrained(str(build))  # type: ignore[attr-defined]
        for name in ("config.json", FINETUNE_FILE):
            if (model_dir / name).is_file():
                shutil.copy2(model_dir / name, build / name)
    except OSError as exc:
        raise cannot_write(build, exc) from exc


def _write_marker(build: Path, request: OptimizeRequest, kind: str, max_length: int) -> None:
    write_json(
        build / OPTIMIZED_FILE,
        {"kind": kind, "method": request.method, "source": str(request.model_dir), "max_length": max_length},
    )


class _building:
    """Build the output in a hidden sibling folder; rename it into place on success, remove it otherwise."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))
        except OSError as exc:
            raise cannot_write(self.out, exc) from exc
        return self.tmp

    def __exit__(self, kind: type | None, *rest: object) -> None:
        assert self.tmp is not None
        if kind is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        try:
            self.tmp.chmod(0o755)
            if self.out.exists():
                self.out.rmdir()  # checked empty before the work
            self.tmp.rename(self.out)
        except OSError as exc:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise cannot_write(self.out, exc) from exc
