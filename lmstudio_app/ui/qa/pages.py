"""The question-answering path of the fine-tune wizard: Questions → Split → Model and settings → Train →
Results.

Only the data page is its own; the other pages are the shared ones, given QA's rules here: a split by
passage (every question of a passage on one side) or a validation file, question + passage lengths in
tokens with the window and stride they are split by, the longest answer, QA's live figures and its
results view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox

from lmstudio_app.ui.finetune.wizard.context import RunContext
from lmstudio_app.ui.finetune.wizard.settings_page import SettingsKind, SettingsPage
from lmstudio_app.ui.finetune.wizard.split_page import SplitRules
from lmstudio_app.ui.finetune.wizard.tasks import TaskPages
from lmstudio_app.ui.qa.data_page import FILE_FILTER, QADataPage
from lmstudio_app.ui.taskviews.pages import task_pages
from lmstudio_app.ui.taskviews.settings import settings_problem

HINT = "Click “Results” for exact match and F1, the questions answered wrongly and “Try it”."


@dataclass
class QAContext(RunContext):
    """The question-answering path: the questions (QAData) and a table's column names."""

    columns: dict = field(default_factory=dict)  # core.qa.data.Columns as a dict; {} for JSON files


def passages(examples: list[Any]) -> int:
    return len({e.context for e in examples})


class QASplit(SplitRules):
    """Whole passages held out (no passage seen in training and validation), or a validation file."""

    subtitle = (
        "Keep some passages aside, with all their questions, to measure the model on text it has not seen."
    )
    held_out = "of the passages for validation (every question of a passage on one side), seed"
    file_placeholder = "a SQuAD JSON, JSON Lines or table file with answers"
    file_title = "Open a validation file of questions"
    file_filter = FILE_FILTER
    headers = ("Questions", "Training", "Validation")

    def split(self, ctx: Any, fraction: float, seed: int, val_path: str | None, *, state: Any) -> tuple:
        from lmstudio_app.core.qa.data import Columns, read_qa, split_by_context

        state.progress(-1, "Splitting the questions")
        if val_path:
            columns = Columns(**ctx.columns) if ctx.columns else None
            train, val = list(ctx.data.examples), read_qa(val_path, columns, state).examples
        else:
            train, val = split_by_context(ctx.data, fraction, seed)
        return train, val, None, self.warnings(train, val)

    @staticmethod
    def warnings(train: list[Any], val: list[Any]) -> list[str]:
        out = []
        if any(e.answers is None for e in val):
            out.append("Some validation questions have no answer: every question needs one to be scored.")
        if any(e.answers == [] for e in val) and not any(e.answers == [] for e in train):
            out.append(
                "The validation questions include unanswerable ones but training has none: the model cannot "
                "learn to say “no answer”."
            )
        return out

    def sizes(self, train: Any, val: Any) -> tuple[int, int]:
        return len(train), len(val)

    def rows(self, train: Any, val: Any) -> list[tuple[str, int, int]]:
        def unanswerable(rows: list[Any]) -> int:
            return sum(1 for e in rows if e.answers == [])

        return [
            ("answerable", len(train) - unanswerable(train), len(val) - unanswerable(val)),
            ("unanswerable", unanswerable(train), unanswerable(val)),
            ("passages", passages(train), passages(val)),
        ]

    def summary(self, train: Any, val: Any) -> str:
        return (
            f"<b>{len(train):,}</b> training and <b>{len(val):,}</b> validation questions, on "
            f"{passages(train):,} and {passages(val):,} passages."
        )


def _measure_job(spec: str, examples: list[Any], *, state: Any) -> tuple[list[int], int]:
    from lmstudio_app.core.qa.lengths import measure_pairs

    return measure_pairs(spec, examples, state)


class QASettingsKind(SettingsKind):
    """Question + passage lengths in tokens; the window and the stride it is split by; the longest answer."""

    lengths_title = (
        "Max length (tokens per window: the question and a part of its passage; a longer passage is split "
        "into overlapping windows, not cut)"
    )
    axis = ("tokens per question + passage", "questions")
    measuring = "Measuring your questions and passages in the model's tokens…"
    max_length = (64, 512, 384)

    def measure(self, spec: str, ctx: Any, *, state: Any) -> Any:
        return _measure_job(spec, ctx.data.examples, state=state)

    def describe(self, page: SettingsPage, max_length: int) -> str:
        lengths = page.histogram.lengths
        long = page.histogram.truncated(max_length)
        text = (
            f"Longest question + passage: {max(lengths)} tokens. {long:,} of {len(lengths):,} "
            f"({100 * long / len(lengths):.1f} %) are longer than {max_length}"
        )
        if not long:
            return text + ": every passage fits one window."
        return (
            text
            + f": their passages are split into windows that overlap by {page.stride.value()} tokens, not cut."
        )

    def add_fields(self, page: SettingsPage) -> list[tuple[str, Any]]:
        page.stride = QSpinBox(minimum=0, maximum=255, value=128)
        page.stride.setToolTip(
            "Tokens shared by consecutive windows of a long passage, so that an answer cut by one window is "
            "whole in the next; under half the max length"
        )
        page.stride_touched = False
        page.stride.valueChanged.connect(lambda _v: setattr(page, "stride_touched", True))
        page.stride.valueChanged.connect(lambda _v: page._describe_length())
        page.max_answer = QSpinBox(minimum=1, maximum=512, value=30)
        page.max_answer.setToolTip("The longest answer the model may give, in tokens")
        row = QHBoxLayout()
        row.addWidget(page.stride)
        row.addWidget(QLabel("tokens shared by consecutive windows;   longest answer:"))
        row.addWidget(page.max_answer)
        row.addWidget(QLabel("tokens"))
        row.addStretch(1)
        return [("Stride:", row)]

    def max_length_changed(self, page: SettingsPage, value: int) -> None:
        if not page.stride_touched:  # the command line's default: a third of the window, at most 128
            page.stride.blockSignals(True)
            page.stride.setValue(min(128, value // 3))
            page.stride.blockSignals(False)

    def settings(self, page: SettingsPage) -> dict:
        ctx = page.ctx
        return {
            "stride": page.stride.value(),
            "max_answer_tokens": page.max_answer.value(),
            "data": ctx.data_path,
            "val_data": str(ctx.val_path) if ctx.val_path else "",
            "columns": dict(ctx.columns),
        }

    def problem(self, settings: dict) -> str:
        from lmstudio_app.core.qa.settings import QASettings

        return settings_problem(QASettings, settings)


def qa_pages(app: Any) -> TaskPages:
    """The question-answering path's context and pages (the wizard adds them)."""
    from lmstudio_app.ui.qa.results_view import QAResultsView
    from lmstudio_app.ui.qa.train_view import QATrainView

    ctx = QAContext(app=app)
    return task_pages(
        ctx,
        QADataPage(ctx),
        QASplit(),
        QASettingsKind(),
        train_view=QATrainView(),
        hint=HINT,
        make_view=QAResultsView,
    )
