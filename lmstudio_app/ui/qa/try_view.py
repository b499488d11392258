"""Try a question-answering model: a question and a passage give the answer marked in the passage with its
score and the next best spans (click one to mark it instead), or a whole file of questions is answered into
a JSON Lines file (scored with exact match and F1 when the file has answers).

Answering runs off the GUI thread with a busy bar and Cancel; the first request loads the model, which the
core then keeps cached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.qa.data_page import FILE_FILTER
from lmstudio_app.ui.qa.passage import PassageView
from lmstudio_app.ui.qthreading import LatestOnly, Worker
from lmstudio_app.ui.taskviews.batch import BatchBox
from lmstudio_app.ui.taskviews.colours import ANSWER
from lmstudio_app.ui.taskviews.tables import cell, score_table
from lmstudio_app.ui.theme import message_style
from lmstudio_app.ui.widgets.probability_delegate import ProbabilityBarDelegate

EXAMPLE_QUESTION = "Who wrote the letter?"
EXAMPLE_PASSAGE = "The letter was written by Ann in Paris, and it reached Tom three weeks later."


def _answer_job(model_dir: Path, question: str, passage: str, *, state: Any) -> Any:
    from lmstudio_app.core.qa.predict import answer_question

    state.progress(-1, "Answering (the first time, loading the model)…")
    state.raise_if_stopped()
    return answer_question(Path(model_dir), question, passage)


def _batch_job(model_dir: Path, path: str, _column: str | None, out: str, *, state: Any) -> str:
    from lmstudio_app.core.qa.predict import predict_file

    done = predict_file(Path(model_dir), Path(path), Path(out), state=state)
    scored = ""
    if done.metrics:
        scored = f"; against the file's answers: exact match {done.metrics['exact_match']:.3f}, F1 {done.metrics['f1']:.3f}"
    notes = f" ({'; '.join(done.problems)})" if done.problems else ""
    return f"Wrote {done.rows:,} answers to {out}{scored}.{notes}"


class QATryView(QWidget):
    """`set_model(model_dir)` first; then Answer (or Ctrl+Enter), or run the file box."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_dir: Path | None = None
        self.decoded: Any = None  # core.qa.spans.Decoded shown
        self.answered = ""  # the passage it was given (a changed passage clears the marks)
        self.question = QLineEdit(placeholderText=f"a question, e.g. “{EXAMPLE_QUESTION}”")
        self.question.returnPressed.connect(self.answer)
        self.passage = PassageView(read_only=False)
        self.passage.setPlaceholderText(f"The passage to take the answer from, e.g. “{EXAMPLE_PASSAGE}”")
        self.passage.textChanged.connect(self._passage_changed)
        self.answer_button = QPushButton("Answer (Ctrl+Enter)")
        self.answer_button.clicked.connect(self.answer)
        shortcut = QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.answer)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar(maximum=0, textVisible=False, visible=False)
        self.progress.setFixedWidth(100)
        self.status = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.result = QLabel(wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.alternatives = score_table(["Answer", "Score", "Characters"], stretch=0)
        self.alternatives.setItemDelegateForColumn(1, ProbabilityBarDelegate(self.alternatives))
        self.alternatives.setToolTip(
            "The best spans, best first: P(start) x P(end). Click one to mark it in the passage."
        )
        self.alternatives.itemSelectionChanged.connect(self._mark_selected)
        self.batch = BatchBox(
            "Answer a file of questions (SQuAD JSON, JSON Lines, or a table with question and context columns)",
            self._batch,
            str,
            input_filter=FILE_FILTER,
            output_filter="JSON Lines (*.jsonl)",
            output_suffix=lambda _p: "-answers.jsonl",
            formats=(".jsonl",),
        )
        form = QFormLayout()
        form.addRow("Question:", self.question)
        row = QHBoxLayout()
        row.addWidget(self.answer_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress)
        row.addWidget(self.status, 1)
        right = QWidget()
        box = QVBoxLayout(right)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.result)
        box.addWidget(self.alternatives, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.passage)
        splitter.addWidget(right)
        splitter.setSizes([560, 380])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(splitter, 1)
        layout.addLayout(row)
        layout.addWidget(self.batch)
        self.answerer = LatestOnly(self)

    def set_model(self, model_dir: Path | str) -> None:
        self.model_dir = Path(model_dir)

    def _batch(self, path: str, column: str | None, out: str, *, state: Any) -> str:
        return _batch_job(self.model_dir, path, column, out, state=state)

    # ---- answering ------------------------------------------------------------------------------------
    def answer(self) -> Worker | None:
        question, passage = self.question.text().strip(), self.passage.toPlainText()
        if self.model_dir is None:
            return None
        if not question or not passage.strip():
            self._idle("Type a question and the passage to take its answer from.", "error")
            return None
        worker = self.answerer.submit(_answer_job, self.model_dir, question, passage)
        worker.result.connect(lambda decoded, p=passage: self._show(p, decoded))
        worker.error.connect(lambda message, _d: self._idle(message, "error"))
        worker.cancelled.connect(
            lambda: self._idle("Cancelled.") if self.answerer.current is worker else None
        )
        worker.progress.connect(lambda _f, message: self.status.setText(message) if message else None)
        self.progress.show()
        self.answer_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setStyleSheet("")
        self.status.setText("Answering…")
        return worker.start()

    def cancel(self) -> None:
        self.answerer.cancel()
        self._idle("Cancelled.")

    def _idle(self, message: str, kind: str = "") -> None:
        self.progress.hide()
        self.answer_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.status.setStyleSheet(message_style(kind) if kind else "")
        self.status.setText(message)

    def _show(self, passage: str, decoded: Any) -> None:
        import html

        if passage != self.passage.toPlainText():
            return  # the passage was edited while the model answered: that answer is for another text
        self.decoded, self.answered = decoded, passage
        best = decoded.best
        if decoded.no_answer:
            runner = decoded.alternatives[0] if decoded.alternatives else None
            self.result.setText(
                f"<span style='font-size: 14pt'><b>No answer</b> in this passage</span><br>the “no answer” "
                f"score {fmt.percent(decoded.null_score)} beats the best span"
                + (f" “{html.escape(runner.text)}” ({fmt.percent(runner.score)})" if runner else "")
            )
            spans = decoded.alternatives
        else:
            self.result.setText(
                f"<span style='font-size: 14pt'>Answer: <b>{html.escape(best.text)}</b></span><br>score "
                f"{fmt.percent(best.score)} (P(start) x P(end)), characters {best.start}–{best.end} of the passage"
            )
            spans = [best, *decoded.alternatives]
        self.alternatives.blockSignals(True)
        self.alternatives.setRowCount(len(spans))
        for r, span in enumerate(spans):
            self.alternatives.setItem(r, 0, cell(span.text))
            score = cell(fmt.percent(span.score))
            score.setData(Qt.ItemDataRole.UserRole, float(span.score))
            score.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.alternatives.setItem(r, 1, score)
            self.alternatives.setItem(r, 2, cell(f"{span.start}–{span.end}"))
        self.alternatives.blockSignals(False)
        self.passage.blockSignals(True)
        self.passage.mark([] if decoded.no_answer else [(best.start, best.end, ANSWER)])
        self.passage.blockSignals(False)
        self._idle(f"{len(spans)} span{'s' if len(spans) != 1 else ''} considered; click one to mark it.")

    def shown_spans(self) -> list[Any]:
        """The spans listed in the table (the answer first unless there is none), as core Span objects."""
        if self.decoded is None:
            return []
        d = self.decoded
        return list(d.alternatives) if d.no_answer else [d.best, *d.alternatives]

    def _mark_selected(self) -> None:
        rows = self.alternatives.selectionModel().selectedRows()
        spans = self.shown_spans()
        if rows and rows[0].row() < len(spans) and self.passage.toPlainText() == self.answered:
            span = spans[rows[0].row()]
            self.passage.mark([(span.start, span.end, ANSWER)])

    def _passage_changed(self) -> None:
        if self.passage.marks and self.passage.toPlainText() != self.answered:
            self.passage.mark([], scroll=False)  # offsets of another text: gone
            self.alternatives.setRowCount(0)
            self.result.setText("")
