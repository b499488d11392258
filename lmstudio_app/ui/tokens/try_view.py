"""Try a trained tagger: type a text and see it tagged (entities coloured by type, every word's tag and score),
or tag a whole file (the first column of a CoNLL file, or a column of a table) into another file.

Tagging runs off the GUI thread: a typed text after a 300 ms pause (a newer text cancels the older request),
a file with progress and Cancel. The first request loads the tagger, which the core then keeps cached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.qthreading import LatestOnly, Worker
from lmstudio_app.ui.taskviews.batch import BatchBox
from lmstudio_app.ui.taskviews.tables import cell, score_table
from lmstudio_app.ui.theme import message_style
from lmstudio_app.ui.tokens.tagged_text import Legend, TaggedText
from lmstudio_app.ui.widgets.probability_delegate import ProbabilityBarDelegate

PAUSE_MS = 300
TABLE_SUFFIXES = (".csv", ".xlsx", ".jsonl", ".json")  # anything else is read as CoNLL (its first column)
INPUT_FILTER = "CoNLL or tables (*.conll *.txt *.tsv *.bio *.iob *.csv *.xlsx *.jsonl *.json);;All files (*)"
OUTPUT_FILTER = (
    "CoNLL (*.conll *.txt);;CSV (*.csv);;TSV (*.tsv);;Excel workbook (*.xlsx);;JSON Lines (*.jsonl)"
)
EXAMPLE = "Angela Merkel flew from Berlin to Paris with Lufthansa."


def is_table(path: str) -> bool:
    return Path(path).suffix.lower() in TABLE_SUFFIXES


def _tag_job(model_dir: Path, text: str, *, state: Any) -> Any:
    from lmstudio_app.core.tokens.predict import tag_text

    state.progress(-1, "Tagging (the first time, loading the tagger)…")
    state.raise_if_stopped()
    return tag_text(Path(model_dir), text)


def _batch_job(model_dir: Path, path: str, column: str | None, out: str, *, state: Any) -> Any:
    """A CoNLL file's first column into CoNLL, or a table's column into a table with tokens, tags, entities."""
    if column is None:
        from lmstudio_app.core.tokens.predict import predict_conll

        sentences, words = predict_conll(Path(model_dir), Path(path), Path(out), state=state)
        return f"Tagged {words:,} words in {sentences:,} sentences into {out}."
    from lmstudio_app.core.tokens.batch import predict_table

    done = predict_table(Path(model_dir), Path(path), column, Path(out), state=state)
    empty = f" ({done.skipped_empty:,} with an empty text left untagged)" if done.skipped_empty else ""
    return f"Wrote {done.rows:,} rows with their words' tags ({done.words:,} words) to {out}{empty}."


def _output_suffix(path: str) -> str:
    return "-tagged" + (Path(path).suffix if is_table(path) else ".conll")


def _formats(path: str) -> tuple[str, ...] | None:
    from lmstudio_app.core.data.table_writer import TABLE_FORMATS

    return TABLE_FORMATS if is_table(path) else None


class TagTryView(QWidget):
    """`set_model(model_dir, tags)` first; then type, or run the file box."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_dir: Path | None = None
        self.input = QPlainTextEdit()
        self.input.setPlaceholderText(
            f"Type or paste a text, e.g. “{EXAMPLE}”: its words are tagged as you type."
        )
        self.input.setFixedHeight(64)
        self.input.textChanged.connect(self._typed)
        self.timer = QTimer(self, singleShot=True, interval=PAUSE_MS, timeout=self.tag_now)
        self.progress = QProgressBar(maximum=0, textVisible=False, visible=False)
        self.progress.setFixedWidth(100)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.cancel)
        self.status = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.text = TaggedText()
        self.legend = Legend()
        self.words = score_table(["Word", "Tag", "Score"], stretch=0)
        self.words.setItemDelegateForColumn(2, ProbabilityBarDelegate(self.words))
        self.words.setToolTip("The tagger's probability of each word's tag (a softmax over the tags)")
        self.batch = BatchBox(
            "Tag a file: the first column of a CoNLL file, or a column of a table",
            self._batch,
            str,
            input_filter=INPUT_FILTER,
            output_filter=OUTPUT_FILTER,
            output_suffix=_output_suffix,
            uses_column=is_table,
            formats=_formats,
        )
        row = QHBoxLayout()
        row.addWidget(self.progress)
        row.addWidget(self.cancel_button)
        row.addWidget(self.status, 1)
        left = QWidget()
        box = QVBoxLayout(left)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.text, 1)
        box.addWidget(self.legend)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.words)
        splitter.setSizes([600, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.input)
        layout.addLayout(row)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.batch)
        self.tagger = LatestOnly(self)
        self.last: Any = None  # core.tokens.predict.TaggedText shown

    def set_model(self, model_dir: Path | str, tags: list[str]) -> None:
        from lmstudio_app.core.tokens.scheme import entity_scheme

        self.model_dir = Path(model_dir)
        entity_tags = entity_scheme(tags) is not None
        self.text.set_types(tags, entity_tags)
        self.legend.set_types(self.text.types, entity_tags)

    def _batch(self, path: str, column: str | None, out: str, *, state: Any) -> Any:
        return _batch_job(self.model_dir, path, column, out, state=state)

    # ---- typing ---------------------------------------------------------------------------------------
    def _typed(self) -> None:
        self.timer.start()

    def tag_now(self) -> Worker | None:
        """Tag the typed text now (the pause after typing calls this)."""
        self.timer.stop()
        text = self.input.toPlainText()
        if self.model_dir is None or not text.strip():
            self.tagger.cancel()
            self._idle("")
            self.text.clear()
            self.words.setRowCount(0)
            return None
        worker = self.tagger.submit(_tag_job, self.model_dir, text)
        worker.result.connect(lambda tagged, t=text: self._show(t, tagged))
        worker.error.connect(lambda message, _d: self._idle(message, "error"))
        worker.cancelled.connect(lambda: self._idle("Cancelled.") if self.tagger.current is worker else None)
        worker.progress.connect(lambda _f, message: self.status.setText(message) if message else None)
        self.progress.show()
        self.cancel_button.setEnabled(True)
        self.status.setStyleSheet("")
        self.status.setText("Tagging…")
        return worker.start()

    def cancel(self) -> None:
        self.timer.stop()
        self.tagger.cancel()
        self._idle("Cancelled.")

    def _idle(self, message: str, kind: str = "") -> None:
        self.progress.hide()
        self.cancel_button.setEnabled(False)
        self.status.setStyleSheet(message_style(kind) if kind else "")
        self.status.setText(message)

    def _show(self, text: str, tagged: Any) -> None:
        self.last = tagged
        self.text.show_tagged(text, tagged.tokens, tagged.entities)
        self.legend.set_types(self.text.types, self.text.entity_tags)
        self.words.setRowCount(len(tagged.tokens))
        for r, token in enumerate(tagged.tokens):
            self.words.setItem(r, 0, cell(token["word"]))
            self.words.setItem(r, 1, cell(token["tag"]))
            score = cell(fmt.percent(token["score"]))
            score.setData(Qt.ItemDataRole.UserRole, float(token["score"]))
            score.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.words.setItem(r, 2, score)
        found = ", ".join(f"{e['text']} ({e['label']})" for e in tagged.entities)
        n = len(tagged.tokens)
        self._idle(
            f"{n} word{'s' if n != 1 else ''}" + (f"; entities: {found}" if found else "")
            if self.text.entity_tags
            else f"{n} word{'s' if n != 1 else ''} tagged"
        )
