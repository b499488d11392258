"""Word tags, step 1: open a file of tagged sentences; its sentences, tokens, tag set and problems by line.

CoNLL (a token and its tag per line, a blank line between sentences), JSON Lines of tokens and tags (tags
as names, or as numbers named in "Tag names"), or doccano-style texts with character spans (turned into BIO
tags over the words). Every broken line is listed with its number at once (the sentences they are in are
left out of the preview, and Next stays off until the file is fixed); sentences longer than the max length
are listed too: they are split into overlapping windows, never cut.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QSplitter, QTabWidget, QVBoxLayout, QWidget

from lmstudio_app.core.models.sources import DEFAULT_ENCODER
from lmstudio_app.ui.taskviews.data_page import FileDataPage, listed_errors
from lmstudio_app.ui.taskviews.tables import fill, score_table
from lmstudio_app.ui.widgets.class_bars import ClassBars
from lmstudio_app.ui.widgets.deferred import Deferred

FILE_FILTER = (
    "Tagged sentences (*.conll *.conllu *.txt *.tsv *.bio *.iob *.iob2 *.bioes *.jsonl *.json *.ndjson);;"
    "All files (*)"
)
PREVIEW_SENTENCES = 500
LISTED_LINES = 12  # line numbers named in a note before "…"
FORMATS = {
    "conll": "CoNLL (a token and its tag per line, the tag in the last column)",
    "jsonl-tokens": "JSON Lines of tokens and tags",
    "jsonl-spans": "JSON Lines of texts with spans (doccano), turned into BIO tags over the words",
}


@dataclass
class TokenRead:
    """What the page's worker read: the data (broken sentences left out and listed), and the sentences'
    lengths with the model and max length the Settings page will start from."""

    data: Any  # core.tokens.data.TaggedData
    lengths: Any  # core.tokens.lengths.SentenceLengths, or None
    length_error: str
    model: str
    max_length: int


def _read_job(path: str, names: list[str] | None, spec: str, max_length: int, *, state: Any) -> TokenRead:
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.tokens.files import read_tagged
    from lmstudio_app.core.tokens.lengths import measure_sentences

    state.progress(-1, f"Reading {Path(path).name}")
    data = read_tagged(path, names, keep_going=True)
    lengths, error = None, ""
    if data.sentences:
        try:
            lengths = measure_sentences(spec, data, state)
        except UserError as exc:  # the model is not here (yet): the Settings page measures again
            error = str(exc)
    return TokenRead(data, lengths, error, spec, max_length)


def line_list(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:LISTED_LINES])
    return shown + (f" and {len(lines) - LISTED_LINES:,} more" if len(lines) > LISTED_LINES else "")


def describe_tags(tags: list[str]) -> str:
    """The tag set in words: its entity scheme and types, or that it tags words without entities."""
    from lmstudio_app.core.tokens.scheme import entity_scheme

    scheme = entity_scheme(tags)
    if scheme is None:
        return "tags without entity prefixes (e.g. parts of speech): scored word by word"
    types = sorted({t.partition("-")[2] for t in tags if t != "O"})
    return f"{scheme} entities of {len(types)} type{'s' if len(types) != 1 else ''}: {', '.join(types)}"


class TokenDataPage(FileDataPage):
    """Next is enabled once a file is read without broken lines and with at least two tags."""

    FILE_FILTER = FILE_FILTER
    OPEN_TITLE = "Open a file of tagged sentences"

    def __init__(self, ctx: Any, parent: Any = None) -> None:
        super().__init__(ctx, "a .conll, .txt, .jsonl or .json file", parent)
        self.read: TokenRead | None = None
        self.setTitle("Tagged data")
        self.setSubTitle(
            "Open a file of tagged sentences: CoNLL (a token and its tag per line, a blank line between "
            "sentences), JSON Lines of tokens and tags, or doccano-style texts with spans."
        )
        self.names_edit = QLineEdit(
            placeholderText="only for tags given as numbers: their names in order, e.g. O, B-PER, I-PER"
        )
        self.names_edit.setToolTip(
            "JSON Lines datasets often give tags as numbers (0, 1, 2…); name them here in the data set's order"
        )
        self.names_edit.editingFinished.connect(self._names_changed)
        self.form.addRow("Tag names:", self.names_edit)
        self.sentences = score_table(["Line", "Words", "Sentence"], stretch=2)
        self.sentences.itemSelectionChanged.connect(self._show_sentence)
        self.tokens = score_table(["Token", "Tag"], stretch=0)
        self.tag_table = score_table(["Tag", "Words", "Share"], stretch=0)
        self._chart = Deferred(ClassBars)
        tags = QWidget()
        box = QVBoxLayout(tags)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.tag_table, 1)
        box.addWidget(self._chart, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.tokens, "Tokens of the sentence")
        self.tabs.addTab(tags, "Tag set")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.sentences)
        splitter.addWidget(self.tabs)
        splitter.setSizes([620, 360])
        self.problems.setOpenLinks(False)
        self._lay_out(splitter)

    @property
    def chart(self) -> ClassBars:
        """The tag counts as bars, built when first shown (or first given data)."""
        return self._chart.widget

    # ---- actions ------------------------------------------------------------------------------------
    def tag_names(self) -> list[str] | None:
        text = self.names_edit.text().replace(";", ",")
        names = [n.strip() for n in (text.split(",") if "," in text else text.split()) if n.strip()]
        return names or None

    def _names_changed(self) -> None:
        if self.path_edit.text().strip() and self.tag_names() != self.ctx.tag_names:
            self.reload()

    def reload(self) -> None:
        path = self.path_edit.text().strip()
        if not path:
            return
        self.ctx.tag_names = self.tag_names()
        spec = str(self.ctx.settings.get("base_model") or DEFAULT_ENCODER)
        max_length = int(self.ctx.settings.get("max_length") or 128)
        self._start_read(path, _read_job, self.ctx.tag_names, spec, max_length)

    # ---- showing --------------------------------------------------------------------------------------
    def _show(self, read: TokenRead) -> None:
        from lmstudio_app.core.tokens.job import tag_list

        self._take(read)
        data = read.data
        self.ctx.lengths = read.lengths
        tags = tag_list(data)
        counts = data.tag_counts()
        numbered = f" Tags given as numbers 0–{data.integer_tags - 1}." if data.integer_tags else ""
        self.detected.setText(
            f"<b>{len(data):,} sentences</b>, {data.words():,} tokens, <b>{len(tags)} tags</b> "
            f"({html.escape(describe_tags(tags))}). Format: {html.escape(FORMATS.get(data.format, data.format))}."
            + numbered
        )
        shown = min(len(data), PREVIEW_SENTENCES)
        fill(
            self.sentences,
            [
                [
                    str(data.lines[i] if i < len(data.lines) else i + 1),
                    len(data.sentences[i]),
                    " ".join(data.sentences[i]),
                ]
                for i in range(shown)
            ],
        )
        total = max(1, data.words())
        fill(self.tag_table, [[t, counts[t], f"{100 * counts[t] / total:.1f} %"] for t in tags])
        self.tabs.setTabText(1, f"Tag set ({len(tags)})")
        self.chart.set_counts({t: counts[t] for t in tags}, "words")
        if shown:
            self.sentences.selectRow(0)
        else:
            self.tokens.setRowCount(0)
        if len(tags) == 1 and not data.errors:
            self.error = f"Every word has the same tag ({tags[0]}): a tagger needs at least two tags."
        self._show_problems()
        self.completeChanged.emit()

    def _show_sentence(self) -> None:
        data = self.ctx.data
        rows = self.sentences.selectionModel().selectedRows() if data is not None else []
        if not rows:
            return
        i = rows[0].row()
        fill(self.tokens, [[w, t] for w, t in zip(data.sentences[i], data.tags[i], strict=True)])

    def _clear_preview(self) -> None:
        for table in (self.sentences, self.tokens, self.tag_table):
            table.setRowCount(0)

    def problem_lines(self) -> list[tuple[str, str]]:
        notes = super().problem_lines()
        read = self.read
        if read is None:
            return notes
        data = read.data
        names_missing = data.integer_tags and not self.ctx.tag_names
        if names_missing:
            notes.append(
                (
                    "error",
                    f"The tags are numbers (0 to {data.integer_tags - 1}): type their {data.integer_tags} names "
                    "in order in “Tag names” above, e.g. O, B-PER, I-PER, B-LOC, I-LOC.",
                )
            )
        errors = [e for e in data.errors if not (names_missing and "the tags are numbers" in e)]
        more = data.error_count - len(data.errors)
        if errors:
            count = len(errors) + more
            where = "the sentences they are in are" if count != 1 else "the sentence it is in is"
            notes += listed_errors(
                errors,
                count,
                f"{count:,} broken line{'s' if count != 1 else ''}: fix {'them' if count != 1 else 'it'} in "
                f"the file and open it again ({where} left out below):",
            )
        notes += [("warning", f"• {p}") for p in data.problems]
        if read.lengths is not None:
            long = read.lengths.longer_than(read.max_length)
            if long:
                sample = " (of a spread-out sample)" if read.lengths.sampled else ""
                notes.append(
                    (
                        "info",
                        f"{len(long):,} sentence{'s are' if len(long) != 1 else ' is'} longer than "
                        f"{read.max_length} pieces with {Path(read.model).name}{sample}, at "
                        f"line{'s' if len(long) != 1 else ''} {line_list([line for line, _ in long])}: "
                        f"{'each is ' if len(long) != 1 else ''}split into overlapping windows (each word "
                        "tagged once, with context on both sides), not cut. The max length is chosen on the "
                        "Settings page.",
                    )
                )
        elif read.length_error:
            notes.append(("info", f"Sentence lengths not measured yet: {read.length_error}"))
        return notes

    # ---- QWizardPage ---------------------------------------------------------------------------------
    def isComplete(self) -> bool:  # noqa: N802 (Qt's name)
        data = self.ctx.data
        return (
            not self.loading
            and not self.error
            and data is not None
            and len(data) > 0
            and not data.errors
            and not (data.integer_tags and not self.ctx.tag_names)
        )
