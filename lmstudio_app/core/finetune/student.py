"""The two sides of a distillation: the teacher (a fine-tuned classifier) and the student built from it.

A student either keeps some of the teacher's own layers, evenly spaced from the first (3 of 6 are layers
0, 2 and 4: "every other one", as DistilBERT was made), with the teacher's embeddings, pooler and
classification head, or is any smaller encoder given a new head. What can be refused is checked from
config files before a run starts, so a wrong pair costs one line instead of a training run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import ModelSourceError, UserError
from lmstudio_app.core.finetune.settings import FINETUNE_FILE
from lmstudio_app.core.jsonio import read_json
from lmstudio_app.core.models.local import resolve_local
from lmstudio_app.core.models.onnx_runtime import is_onnx_folder
from lmstudio_app.core.models.quiet import quiet_transformers

PER_LAYER_KEYS = (
    "layer_types",
)  # config lists with one entry per layer: the student keeps its layers' entries


@dataclass(frozen=True)
class Teacher:
    """A fine-tuned classifier read from its folder: its classes in head order, depth, length and size."""

    path: Path
    labels: list[str]
    layers: int
    max_length: int
    parameters: int


def read_teacher(folder: Path | str) -> Teacher:
    """The teacher in `folder`, or a one-line refusal when it is not a fine-tuned single-label classifier."""
    folder = Path(folder)
    if is_onnx_folder(folder):
        raise ModelSourceError(
            f"{folder} is an optimized (ONNX) folder: give the fine-tuned model folder it came from as the teacher."
        )
    config = read_json(folder / "config.json")
    if not config:
        raise ModelSourceError(
            f"{folder} is not a model folder (no config.json): give a fine-tuned classifier."
        )
    if not any("ForSequenceClassification" in a for a in config.get("architectures") or []):
        raise UserError(
            f"{folder} is not a fine-tuned classifier (no classification head): fine-tune one first "
            "(lmstudio-app finetune) and give its folder as the teacher."
        )
    if config.get("problem_type") == "multi_label_classification":
        raise UserError(
            f"{folder} is a multi-label classifier: distillation here takes a single-label one (softmax soft targets)."
        )
    id2label = config.get("id2label") or {}
    labels = [str(id2label[k]) for k in sorted(id2label, key=int)]
    layers = int(config.get("num_hidden_layers") or 0)
    if len(labels) < 2 or layers < 1:
        raise UserError(f"{folder} does not say its classes and layers in config.json: it cannot teach.")
    limit = min(512, int(config.get("max_position_embeddings") or 512))
    max_length = int(read_json(folder / FINETUNE_FILE).get("max_length") or limit)
    return Teacher(folder, labels, layers, max_length, parameter_count(folder, len(labels)))


def parameter_count(folder: Path | str, num_labels: int) -> int:
    """Parameters of the classifier with `num_labels` classes that `folder`'s config describes, counted on
    the meta device (nothing is allocated or read but the config)."""
    import torch
    import transformers

    with quiet_transformers():
        try:
            config = transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
            config.num_labels = num_labels
            with torch.device("meta"):
                model = transformers.AutoModelForSequenceClassification.from_config(config)
        except (OSError, ValueError) as exc:
            raise ModelSourceError(f"Could not read {folder}: {str(exc).splitlines()[0]}") from exc
    return sum(p.numel() for p in model.parameters())


def layer_indices(teacher_layers: int, student_layers: int) -> list[int]:
    """Which teacher layers a student of `student_layers` keeps: evenly spaced from the first."""
    if not 1 <= student_layers < teacher_layers:
        raise UserError(
            f"A student of {student_layers} layers is not smaller than its {teacher_layers}-layer teacher: "
            f"use --student-layers 1 to {teacher_layers - 1}."
        )
    return [i * teacher_layers // student_layers for i in range(student_layers)]


def check_student(teacher: Teacher, student_layers: int, student: str) -> None:
    """Refuse a student that is not smaller than the teacher (by layers, or by parameters for a model)."""
    if student_layers:
        layer_indices(teacher.layers, student_layers)
        return
    source = resolve_local(student)
    size = parameter_count(source.path, len(teacher.labels))
    if size > teacher.parameters:
        raise UserError(
            f"The student {source.name} has more parameters ({_count(size)}) than the teacher "
            f"({_count(teacher.parameters)}): pick a smaller model or use --student-layers."
        )


def _count(parameters: int) -> str:
    return f"{parameters / 1e6:.1f} M" if parameters >= 1e6 else f"{parameters:,}"


def layer_list_name(model: Any) -> str:
    """The dotted name of the model's list of transformer layers (e.g. bert.encoder.layer)."""
    import torch

    layers = int(model.config.num_hidden_layers)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == layers:
            return name
    raise UserError(
        f"Cannot find the layer list of this {type(model).__name__}: give a smaller model with --student instead."
    )


def student_from_layers(teacher_model: Any, layers: list[int]) -> Any:
    """A new classifier of the teacher's class with only `layers` (in order) and everything else of the
    teacher (embeddings, pooler, head, labels); every weight is checked to have found its place."""
    import transformers

    prefix = layer_list_name(teacher_model) + "."
    new_index = {old: new for new, old in enumerate(layers)}
    state = {}
    for key, value in teacher_model.state_dict().items():
        if key.startswith(prefix):
            old, _, rest = key[len(prefix) :].partition(".")
            if int(old) not in new_index:
                continue
            key = f"{prefix}{new_index[int(old)]}.{rest}"
        state[key] = value
    config = teacher_model.config.__class__.from_dict(teacher_model.config.to_dict())
    config.num_hidden_layers = len(layers)
    for name in PER_LAYER_KEYS:
        if isinstance(getattr(config, name, None), list):
            setattr(config, name, [getattr(config, name)[i] for i in layers])
    with quiet_transformers():
        student = transformers.AutoModelForSequenceClassification.from_config(config)
    student.load_state_dict(state, strict=True)
    return student


def tokenizer_note(teacher: Teacher, tokenizer: Any, texts: list[str]) -> str | None:
    """What to tell the user when the student's tokenizer splits `texts` (a sample) unlike the teacher's
    (None when they agree): each side then reads its own tokens of every text."""
    import transformers

    with quiet_transformers():
        theirs = transformers.AutoTokenizer.from_pretrained(teacher.path, local_files_only=True)
    if (
        theirs.get_vocab() == tokenizer.get_vocab()
        and theirs(texts)["input_ids"] == tokenizer(texts)["input_ids"]
    ):
        return None
    return (
        "the student's tokenizer differs from the teacher's: every text is tokenized twice, and the teacher's "
        "soft targets come from its own tokens"
    )
