"""Distil a fine-tuned classifier (the teacher) into a smaller one (the student) on the engine.

The job is a fine-tune whose classes are the teacher's (in the teacher's head order, so that logits line
up), whose model is the student (core/finetune/student.py), and whose training loss mixes the teacher's
soft targets with the hard labels (core/finetune/soft_targets.py). It saves a normal fine-tuned folder:
`predict -m` runs it and `optimize --compare` measures it beside its teacher; finetune.json's settings
record the teacher, the temperature and alpha.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lmstudio_app.core.data.labeled import LabeledData
from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.finetune.datasets import DataPlan, build_splits
from lmstudio_app.core.finetune.encode import encode, length_ordered_trainer
from lmstudio_app.core.finetune.evaluate import trainer_metrics
from lmstudio_app.core.finetune.job import FineTuneJob
from lmstudio_app.core.finetune.settings import FineTuneResult, FineTuneSettings
from lmstudio_app.core.finetune.soft_targets import (
    SoftTargetCollator,
    SoftTargetDataset,
    distillation_trainer,
    teacher_logits,
)
from lmstudio_app.core.finetune.student import (
    Teacher,
    check_student,
    layer_indices,
    read_teacher,
    student_from_layers,
    tokenizer_note,
)
from lmstudio_app.core.models.local import resolve_local
from lmstudio_app.core.models.quiet import quiet_transformers
from lmstudio_app.core.tasks import TaskState
from lmstudio_app.core.training.bridge import EventFn
from lmstudio_app.core.training.engine import JobContext, TrainerParts, run_job
from lmstudio_app.core.training.head_job import default_tokenizer, load_with_head, model_dir_for
from lmstudio_app.core.training.record import RunRecord

TOKENIZER_SAMPLE = 200  # training texts tokenized by both sides to tell whether their tokenizers agree


@dataclass
class DistillSettings(FineTuneSettings):
    """A fine-tune's settings plus the teacher, the student's depth (0: `base_model` is the student) and
    the soft-target loss's temperature and weight."""

    teacher: str = ""
    student_layers: int = 0
    temperature: float = 2.0
    alpha: float = 0.5

    def check(self) -> None:
        super().check()
        if not self.teacher:
            raise UserError("Distillation needs a teacher: the folder of a fine-tuned classifier.")
        if not 0 < self.temperature <= 100:
            raise UserError(f"Temperature {self.temperature} is out of range: use more than 0, e.g. 2 to 5.")
        if not 0 <= self.alpha <= 1:
            raise UserError(f"Alpha {self.alpha} is out of range: it weighs the soft targets, from 0 to 1.")
        if self.student_layers < 0:
            raise UserError("The student's number of layers must be 1 or more.")


class DistillJob(FineTuneJob):
    """A fine-tune of the student on soft targets from the teacher (see the module docstring)."""

    kind = "distill"

    def __init__(
        self,
        train: LabeledData,
        val: LabeledData,
        settings: DistillSettings,
        plan: DataPlan | None,
        model_dir: Path,
    ) -> None:
        super().__init__(train, val, settings, plan, model_dir)
        self.teacher: Teacher = read_teacher(settings.teacher)
        if settings.student_layers:
            self.settings.base_model = str(self.teacher.path)  # the student's tokenizer is the teacher's
        self.labels = list(self.teacher.labels)
        self.val_teacher: np.ndarray | None = None  # the teacher's predicted class per validation row

    @property
    def layers(self) -> list[int] | None:
        """The teacher layers the student keeps, or None for a student model."""
        n = self.settings.student_layers
        return layer_indices(self.teacher.layers, n) if n else None

    def check(self) -> None:
        super().check()
        unknown = sorted((set(self.train.label_names) | set(self.val.label_names)) - set(self.teacher.labels))
        if unknown:
            raise DataError(
                f"The data has labels the teacher does not know ({', '.join(unknown[:5])}); its classes are "
                f"{', '.join(self.teacher.labels[:10])}: give the data it was trained on, or its label column."
            )
        check_student(self.teacher, self.settings.student_layers, self.settings.base_model)

    def describe(self) -> dict:
        return {**super().describe(), "teacher": str(self.teacher.path), "teacher_layers_kept": self.layers}

    def prepare(self, ctx: JobContext) -> dict:
        extra = super().prepare(ctx)
        note = tokenizer_note(self.teacher, self.tokenizer, self.train.texts[:TOKENIZER_SAMPLE])
        if note:
            ctx.recorder.say(note)
        model = self._teacher_model("teaching")
        with quiet_transformers():
            tokenizer = default_tokenizer(self.teacher.path)
        label_ids = {name: i for i, name in enumerate(self.labels)}
        soft = {}
        for part, data in (("train", self.train), ("val", self.val)):
            rows, _ = encode(
                tokenizer,
                data,
                label_ids,
                self.teacher.max_length,
                ctx.state,
                f"{part} texts for the teacher",
            )
            soft[part] = teacher_logits(model, tokenizer, rows, ctx.device, ctx.state)
        del model
        self.train_ds = SoftTargetDataset(self.train_ds, soft["train"])
        self.val_teacher = soft["val"].argmax(axis=-1)
        kept = f"layers {', '.join(map(str, self.layers or []))} of the teacher's {self.teacher.layers}"
        return {
            **extra,
            "teacher": str(self.teacher.path),
            "student": kept if self.layers else self.settings.base_model,
            "temperature": f"{self.settings.temperature:g}",
            "alpha": f"{self.settings.alpha:g}",
        }

    def trainer_parts(self, ctx: JobContext) -> TrainerParts:
        from transformers import DataCollatorWithPadding

        settings = self.settings
        return TrainerParts(
            model=self.student_model(),
            train_dataset=self.train_ds,
            eval_dataset=self.val_ds,
            data_collator=SoftTargetCollator(DataCollatorWithPadding(self.tokenizer, pad_to_multiple_of=8)),
            compute_metrics=trainer_metrics,
            trainer_class=distillation_trainer(
                length_ordered_trainer(), settings.temperature, settings.alpha
            ),
            processing_class=self.tokenizer,
            lengths=[len(ids) for ids in self.train_ds.ids],
            arguments={"remove_unused_columns": False},  # the rows' teacher logits reach compute_loss
        )

    def extra_metrics(self, logits: np.ndarray) -> dict[str, float]:
        """How often the student answers as the teacher does, and the teacher's own accuracy, on the
        validation rows."""
        if self.val_teacher is None or self.val_ds is None:
            return {}
        return {
            "eval_teacher_agreement": float(np.mean(logits.argmax(axis=-1) == self.val_teacher)),
            "teacher_eval_accuracy": float(np.mean(self.val_teacher == np.asarray(self.val_ds.labels))),
        }

    def _teacher_model(self, purpose: str) -> Any:
        from transformers import AutoModelForSequenceClassification

        return load_with_head(
            AutoModelForSequenceClassification, resolve_local(str(self.teacher.path)), purpose
        )

    def student_model(self) -> Any:
        """A fresh student: the teacher's kept layers, or the student model with a new head."""
        from transformers import AutoModelForSequenceClassification

        if self.layers:
            return student_from_layers(self._teacher_model("a student"), self.layers)
        return load_with_head(
            AutoModelForSequenceClassification,
            self.source,
            "a student",
            num_labels=len(self.labels),
            id2label=dict(enumerate(self.labels)),
            label2id={name: i for i, name in enumerate(self.labels)},
            ignore_mismatched_sizes=True,
        )


def distill(
    train: LabeledData,
    val: LabeledData,
    settings: DistillSettings,
    run_dir: Path,
    *,
    state: TaskState | None = None,
    on_event: EventFn | None = None,
    resume: bool = False,
    model_dir: Path | None = None,
    plan: DataPlan | None = None,
) -> FineTuneResult:
    """Train the student in `run_dir` (as `fine_tune` does a classifier; see the module docstring)."""
    run_dir = Path(run_dir)
    model_dir = model_dir_for(run_dir, resume, model_dir)
    if plan is None and train.source is not None:
        plan = DataPlan.of(train, val)
    job = DistillJob(train, val, settings, plan, model_dir)
    return run_job(job, run_dir, state=state, on_event=on_event, resume=resume)


def resume_distill(
    run_dir: Path, *, state: TaskState | None = None, on_event: EventFn | None = None
) -> FineTuneResult:
    """Continue a cancelled or interrupted distillation from its newest checkpoint (the data rebuilt from
    disk, the teacher's soft targets computed again: the teacher is frozen, so they are the same)."""
    saved = RunRecord(Path(run_dir)).saved_settings()
    if saved.kind != DistillJob.kind or not saved.job:
        raise UserError(
            f"{run_dir} is not a distillation run with its data in settings.json: it cannot be resumed."
        )
    plan = DataPlan.from_saved(saved.job)
    train, val = build_splits(plan, state=state)
    settings = DistillSettings.from_dict(saved.settings)
    return distill(
        train, val, settings, Path(run_dir), state=state, on_event=on_event, resume=True, plan=plan
    )
