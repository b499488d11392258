"""The results of a question-answering run: exact match and F1 (and, with unanswerable questions, the
answerable F1 and the no-answer accuracy), the held-out questions answered wrongly with their passage
(the model's answer and the expected one marked), "Try it", and what to do with the model."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.finetune.run_dialog import RunDialog
from lmstudio_app.ui.qa.passage import MarkKey, PassageView
from lmstudio_app.ui.qa.train_view import QATrainView
from lmstudio_app.ui.qa.try_view import QATryView
from lmstudio_app.ui.taskviews.actions import finetune_command
from lmstudio_app.ui.taskviews.colours import ANSWER, EXPECTED
from lmstudio_app.ui.taskviews.results_view import TaskResultsView
from lmstudio_app.ui.taskviews.tables import fill, score_table


def summary_html(result: Any) -> str:
    m = result.metrics
    big = f"Exact match <b>{m.get('eval_exact_match', float('nan')):.3f}</b> &nbsp; F1 <b>{m.get('eval_f1', float('nan')):.3f}</b>"
    parts = []
    if "eval_has_answer_f1" in m:
        parts.append(
            f"answerable questions' F1 {m['eval_has_answer_f1']:.3f}, unanswerable ones answered “no answer” "
            f"{m.get('eval_no_answer_accuracy', 0):.3f}"
        )
    parts.append(
        f"validation loss {m.get('eval_loss', float('nan')):.4f} on {int(m.get('val_rows', 0)):,} held-out questions "
        f"({int(m.get('train_rows', 0)):,} trained on, {int(m.get('train_windows', 0)):,} windows of "
        f"{int(m.get('max_length', 0))} tokens, stride {int(m.get('stride', 0))})"
    )
    trained = "trained to say “no answer” too" if result.unanswerable else "always answers with a span"
    return (
        f"<span style='font-size: 15pt'>{big}</span> &nbsp; (SQuAD's normalisation: case, punctuation and "
        f"a/an/the ignored)<br>{html.escape('; '.join(parts))}; the model {trained}."
        f"<br>Model folder: {html.escape(str(result.model_dir))}"
    )


class QAResultsView(TaskResultsView):
    """`set_result(QAResult)`; its tabs: wrong answers with their passages, Try it; its actions below."""

    def __init__(self, app: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(app, parent)
        self.mistakes = score_table(["Question", "Model's answer", "Expected", "F1", "Score"], stretch=0)
        self.mistakes.itemSelectionChanged.connect(self._show_mistake)
        self.passage = PassageView()
        self.passage.setPlaceholderText("Click a question to see its passage with both answers marked.")
        self.key = MarkKey([(ANSWER, "the model's answer"), (EXPECTED, "an expected answer")])
        wrong = QWidget()
        box = QVBoxLayout(wrong)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.mistakes)
        passage = QWidget()
        side = QVBoxLayout(passage)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.passage, 1)
        side.addWidget(self.key)
        splitter.addWidget(passage)
        splitter.setSizes([520, 420])
        box.addWidget(splitter, 1)
        self.try_view = QATryView()
        self.tabs.addTab(wrong, "Answered wrongly")
        self.tabs.addTab(self.try_view, "Try it")
        self._lay_out()

    def set_result(self, result: Any) -> None:
        self.result = result
        self.summary.setText(summary_html(result))
        fill(
            self.mistakes,
            [
                [
                    r.get("question", ""),
                    r.get("predicted") or "(no answer)",
                    " | ".join(r.get("answers") or []) or "(no answer)",
                    float(r.get("f1", 0.0)),
                    fmt.percent(float(r.get("score", 0.0))),
                ]
                for r in result.mistakes
            ],
        )
        self.tabs.setTabText(0, f"Answered wrongly ({len(result.mistakes)})")
        if result.mistakes:
            self.mistakes.selectRow(0)
        else:
            self.passage.setPlainText("")
        self.try_view.set_model(result.model_dir)
        self.actions.model_dir = Path(result.model_dir)

    def _show_mistake(self) -> None:
        rows = self.mistakes.selectionModel().selectedRows()
        if not rows or self.result is None:
            return
        row = self.result.mistakes[rows[0].row()]
        context = row.get("context", "")
        self.passage.setPlainText(context)
        marks = []
        for gold in row.get("answers") or []:
            at = context.find(gold)
            if at >= 0:
                marks.append((at, at + len(gold), EXPECTED))
        predicted = row.get("predicted") or ""
        if predicted:
            start = int(row.get("start", context.find(predicted)))
            marks.append((start, start + len(predicted), ANSWER))
        self.passage.mark(marks)

    def command_text(self) -> str:
        from lmstudio_app.core.errors import UserError
        from lmstudio_app.core.training.record import RunRecord

        saved = RunRecord(Path(self.result.run_dir)).saved_settings()
        s = saved.settings
        if s.get("columns") and any(s["columns"].get(k) not in (None, "", k) for k in s["columns"]):
            raise UserError(
                "This run read a table with its own column names, which the command line cannot map: rename "
                "the columns to question, context, answer (answer_start, id) to run it from there."
            )
        extra = [
            "--stride",
            str(s.get("stride", 128)),
            "--max-answer-tokens",
            str(s.get("max_answer_tokens", 30)),
        ]
        out = str(Path(self.result.run_dir) / "cli-model")
        return finetune_command("qa", s, str(s.get("data", "")), s.get("val_data") or None, out, extra)


class QARunDialog(RunDialog):
    """A question-answering run from the runs list: its live training when resumed, then its results."""

    def __init__(self, app: Any, run_dir: Path, parent: QWidget | None = None) -> None:
        from lmstudio_app.core.qa.settings import QAResult

        super().__init__(run_dir, (QATrainView(), QAResultsView(app)), QAResult.load, parent)
        self.setWindowTitle(f"Question-answering run {self.run_dir.name}")
