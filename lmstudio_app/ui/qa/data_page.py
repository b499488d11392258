"""Question answering, step 1: open SQuAD JSON, SQuAD-layout JSON Lines, or a table with question, context
and answer columns; the counts (answerable and unanswerable), every broken question and the passages.

Each answer is checked against its passage as it is read (the core finds or repairs its offset). Every
answer that is not in its passage is listed with its row at once, and Next stays off until the file is
fixed: no training window is ever built on a wrong span. Click a question to see its passage with the
answer marked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QWidget

from lmstudio_app.ui.qa.passage import PassageView
from lmstudio_app.ui.sizing import compact_combo
from lmstudio_app.ui.taskviews.colours import ANSWER
from lmstudio_app.ui.taskviews.data_page import FileDataPage, listed_errors
from lmstudio_app.ui.taskviews.tables import fill, score_table

FILE_FILTER = "Questions (*.json *.jsonl *.ndjson *.csv *.tsv *.txt *.xlsx);;All files (*)"
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
PREVIEW_QUESTIONS = 500
NONE = "(none)"
ROLES = (  # Columns field, label, required, names it is guessed from
    ("question", "Question:", True, ("question", "questions", "query", "q")),
    ("context", "Passage:", True, ("context", "passage", "paragraph", "text", "document", "contexts")),
    ("answer", "Answer:", False, ("answer", "answers", "answer_text", "a")),
    ("answer_start", "Answer start:", False, ("answer_start", "start", "answer_offset")),
    ("id", "Id:", False, ("id", "qid", "question_id")),
)


@dataclass
class QARead:
    """What the page's worker read: the data (broken questions left out and listed), and for a table its
    columns and the ones used for each part."""

    data: Any  # core.qa.data.QAData, or None when a table's columns do not fit
    columns: list[str] = field(default_factory=list)  # a table's columns ([] for JSON)
    mapping: dict[str, str] = field(default_factory=dict)  # Columns field -> column ("" for none)
    error: str = ""


def guess_mapping(columns: list[str]) -> dict[str, str]:
    lower = {c.lower().strip(): c for c in columns}
    return {role: next((lower[n] for n in names if n in lower), "") for role, _, _, names in ROLES}


def _read_job(path: str, mapping: dict[str, str] | None, *, state: Any) -> QARead:
    from lmstudio_app.core.data.table import DataError, read_table
    from lmstudio_app.core.qa.data import Columns, read_qa

    if Path(path).suffix.lower() in JSON_SUFFIXES:
        return QARead(read_qa(path, state=state, keep_going=True))
    columns = read_table(Path(path), state=state).columns
    mapping = mapping or guess_mapping(columns)
    missing = [
        label.rstrip(":").lower() for role, label, required, _ in ROLES if required and not mapping.get(role)
    ]
    if missing:
        return QARead(
            None, columns, mapping, f"Choose the column that holds the {' and the '.join(missing)}."
        )
    try:
        data = read_qa(path, Columns(**{r: mapping.get(r) or "" for r, *_ in ROLES}), state, keep_going=True)
    except DataError as exc:
        return QARead(None, columns, mapping, str(exc))
    return QARead(data, columns, mapping)


def describe(data: Any) -> str:
    contexts = len({e.context for e in data.examples})
    if not data.examples:
        return "<b>No usable questions.</b>"
    if not data.has_answers:
        without = sum(1 for e in data.examples if e.answers is None)
        return (
            f"<b>{len(data):,} questions</b> on {contexts:,} passages; <b>{without:,} without an answer</b> "
            "in the file."
        )
    answerable = len(data) - data.unanswerable
    return (
        f"<b>{len(data):,} questions</b> on {contexts:,} passages: {answerable:,} answerable, "
        f"<b>{data.unanswerable:,} unanswerable</b>"
        + (" (SQuAD 2.0 style: the model also learns to say “no answer”)" if data.unanswerable else "")
        + "."
    )


class QADataPage(FileDataPage):
    """Next is enabled once every question has an answer found in its passage (or is marked unanswerable)."""

    FILE_FILTER = FILE_FILTER
    OPEN_TITLE = "Open questions with their passages"
    NO_PROBLEMS = "No problems found: every answer is in its passage."

    def __init__(self, ctx: Any, parent: Any = None) -> None:
        super().__init__(ctx, "a .json, .jsonl, .csv, .tsv or .xlsx file", parent)
        self.read: QARead | None = None
        self.setTitle("Questions")
        self.setSubTitle(
            "Open SQuAD JSON (v1.1 or v2.0), JSON Lines in the SQuAD layout, or a table with question, "
            "passage (context) and answer columns; an empty answer marks an unanswerable question."
        )
        self.combos: dict[str, QComboBox] = {}
        self.columns_row = QWidget()
        columns = QHBoxLayout(self.columns_row)
        columns.setContentsMargins(0, 0, 0, 0)
        for role, label, _required, _names in ROLES:
            combo = compact_combo(QComboBox(), 10)
            combo.activated.connect(lambda _i: self._columns_changed())
            columns.addWidget(QLabel(label))
            columns.addWidget(combo, 1)
            self.combos[role] = combo
        self.form.addRow("Columns:", self.columns_row)
        self.columns_row.hide()
        self.form.setRowVisible(1, False)
        self.questions = score_table(["Where", "Question", "Answer"], stretch=1)
        self.questions.itemSelectionChanged.connect(self._show_question)
        self.passage = PassageView()
        self.passage.setPlaceholderText("Click a question to see its passage with the answer marked.")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.questions)
        splitter.addWidget(self.passage)
        splitter.setSizes([560, 420])
        self._lay_out(splitter)

    # ---- actions ------------------------------------------------------------------------------------
    def mapping(self) -> dict[str, str]:
        return {role: "" if c.currentText() == NONE else c.currentText() for role, c in self.combos.items()}

    def set_columns(self, **mapping: str) -> None:
        """Choose a table's columns by role (question=, context=, answer=, answer_start=, id=) and read again."""
        for role, column in mapping.items():
            self.combos[role].setCurrentText(column or NONE)
        self._columns_changed()

    def _columns_changed(self) -> None:
        self.reload(guess=False)

    def reload(self, guess: bool = True) -> None:
        path = self.path_edit.text().strip()
        if path:
            self._start_read(path, _read_job, None if guess else self.mapping())

    # ---- showing --------------------------------------------------------------------------------------
    def _fill_combos(self, read: QARead) -> None:
        self.form.setRowVisible(1, bool(read.columns))
        self.columns_row.setVisible(bool(read.columns))
        for role, _label, required, _names in ROLES:
            combo = self.combos[role]
            combo.clear()
            combo.addItems(read.columns if required else [NONE, *read.columns])
            combo.setCurrentText(read.mapping.get(role) or NONE)

    def _show(self, read: QARead) -> None:
        from dataclasses import asdict

        from lmstudio_app.core.qa.data import Columns

        self._take(read)
        self._fill_combos(read)
        if read.data is None:
            self._show_error(read.error, keep_columns=True)
            return
        data = read.data
        self.ctx.columns = (
            {k: v for k, v in asdict(Columns(**{r: read.mapping.get(r) or "" for r, *_ in ROLES})).items()}
            if read.columns
            else {}
        )
        kind = (
            "a table"
            if read.columns
            else ("JSON Lines" if data.path.suffix.lower() != ".json" else "SQuAD JSON")
        )
        self.detected.setText(f"{describe(data)} Read as {kind}.")
        shown = data.examples[:PREVIEW_QUESTIONS]
        fill(
            self.questions,
            [
                [
                    e.where or e.id,
                    e.question,
                    "(no answer)" if e.answers == [] else ("–" if e.answers is None else e.answers[0].text),
                ]
                for e in shown
            ],
        )
        if shown:
            self.questions.selectRow(0)
        else:
            self.passage.setPlainText("")
        if read.columns and not read.mapping.get("answer"):
            self.error = (
                "Choose the column that holds the answers (“Answer:” above): training needs an answer for "
                "every question (an empty cell marks an unanswerable one)."
            )
        elif data.examples and not data.has_answers and not data.errors:
            self.error = (
                "Some questions have no answer in the file: training needs an answer for every question "
                "(an empty answer marks an unanswerable one). A file without answers can be answered with a "
                "trained model instead (its results' “Try it”)."
            )
        elif len(data) < 2 and not data.errors:
            self.error = "Training needs at least two questions (some are held out to validate)."
        self._show_problems()
        self.completeChanged.emit()

    def _show_question(self) -> None:
        rows = self.questions.selectionModel().selectedRows()
        data = self.ctx.data
        if not rows or data is None:
            return
        example = data.examples[rows[0].row()]
        self.passage.setPlainText(example.context)
        self.passage.mark([(a.start, a.end, ANSWER) for a in example.answers or []])

    def _show_error(self, message: str, keep_columns: bool = False) -> None:
        if not keep_columns:
            self.form.setRowVisible(1, False)
        super()._show_error(message)

    def _clear_preview(self) -> None:
        self.questions.setRowCount(0)
        self.passage.setPlainText("")

    def problem_lines(self) -> list[tuple[str, str]]:
        notes = super().problem_lines()
        data = self.read.data if self.read is not None else None
        if data is None:
            return notes
        if data.errors:
            count = data.error_count
            notes += listed_errors(
                data.errors,
                count,
                f"{count:,} question{'s' if count != 1 else ''} cannot be used: fix "
                f"{'them' if count != 1 else 'it'} in the file and open it again (left out below):",
            )
        notes += [("warning", f"• {p}") for p in data.problems]
        return notes

    # ---- QWizardPage ---------------------------------------------------------------------------------
    def isComplete(self) -> bool:  # noqa: N802 (Qt's name)
        data = self.ctx.data
        return not self.loading and not self.error and data is not None and len(data) >= 2 and not data.errors
