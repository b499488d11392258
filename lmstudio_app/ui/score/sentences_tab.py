"""The Sentences sub-tab: a list of sentences (typed, pasted or opened), scored by one or two models.

The table compares sentences (sortable, A and B side by side); the token views below explain the
selected one: which tokens surprised each model, and what it expected instead.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.models.registry import LoadedModel
from lmstudio_app.core.score.sentences import SentenceScore
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.score.jobs import score_with_models
from lmstudio_app.ui.score.model_bar import ModelBar
from lmstudio_app.ui.score.run_bar import RunBar
from lmstudio_app.ui.score.sentence_table import SentenceTable
from lmstudio_app.ui.score.token_view import TokenView

SENTENCES_KEY = "score/sentences"
EXAMPLE = (
    "The keys to the cabinet are on the table.\n"
    "The keys to the cabinet is on the table.\n"
    "She drank a cup of hot coffee.\n"
    "She drank a cup of hot furniture."
)


def sentences_of(text: str) -> list[str]:
    """One sentence per non-blank line, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


class SentencesTab(QWidget):
    """Type or open sentences, Ctrl+Enter, read the table; select a row for its tokens."""

    scored = Signal()  # results are on screen

    def __init__(self, state: AppState, models: ModelBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.models = state, models
        self.results: list[list[SentenceScore]] = []
        self.names: list[str] = []
        self.editor = QPlainTextEdit(
            placeholderText="One sentence per line: type, paste, or Open… a text file"
        )
        self.editor.setPlainText(str(state.settings.value(SENTENCES_KEY, EXAMPLE)))
        self.source = QLineEdit(placeholderText="the text the encoder reads (empty: none)")
        self.source.setToolTip("Encoder-decoders score each sentence as log P(sentence | source)")
        self.source_label = QLabel("Source:")
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Read the sentences from a text file, one per line")
        self.open_button.clicked.connect(self.open_file)
        self.runner = RunBar("Score", "Score the sentences")
        self.runner.run.connect(self.run)
        self.table = SentenceTable()
        self.table.picked.connect(self.show_tokens)
        self.token_views = [TokenView(), TokenView()]
        self._layout()
        self.models.changed.connect(self._show_source)
        self.models.compare_combo.currentIndexChanged.connect(self._show_source)
        self._show_source()

    def _layout(self) -> None:
        head = QHBoxLayout()
        head.addWidget(QLabel("Sentences, one per line:"))
        head.addStretch(1)
        head.addWidget(self.open_button)
        top = QWidget()
        column = QVBoxLayout(top)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(head)
        column.addWidget(self.editor, 1)
        source_row = QHBoxLayout()
        source_row.addWidget(self.source_label)
        source_row.addWidget(self.source, 1)
        column.addLayout(source_row)
        column.addWidget(self.runner)
        tokens = QSplitter(Qt.Orientation.Horizontal)
        for view in self.token_views:
            tokens.addWidget(view)
        self.token_views[1].hide()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        for widget, stretch in ((top, 2), (self.table, 3), (tokens, 3)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def _runs(self) -> list[tuple[LoadedModel, str]]:
        """(model, method) for the picked model and the one to compare with, if any."""
        model = self.models.model()
        if model is None:
            return []
        loaded = [model] + [m for m in [self.models.compare()] if m is not None and m.key != model.key]
        return [(m, self.models.method_for(m)) for m in loaded]

    def _show_source(self) -> None:
        """The source box only where an encoder-decoder scores."""
        wanted = any(method == "conditional" for _m, method in self._runs())
        self.source.setVisible(wanted)
        self.source_label.setVisible(wanted)

    def open_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Sentences", "", "Text files (*.txt *.tsv *.csv);;All files (*)"
        )
        if name:
            self.load_file(Path(name))

    def load_file(self, path: Path) -> None:
        """Put a text file's lines into the editor (a file that is not text is said in the status line)."""
        try:
            self.editor.setPlainText(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as exc:
            self.runner.say("error", f"Cannot read {path.name} as UTF-8 text: {exc}")

    def run(self) -> None:
        runs = self._runs()
        if not runs:
            self.runner.say("error", "Load a language model first (see the note above).")
            return
        self.state.settings.setValue(SENTENCES_KEY, self.editor.toPlainText())
        names = [f"{m.key} ({method})" for m, method in runs]
        self.runner.start(
            score_with_models,
            runs,
            sentences_of(self.editor.toPlainText()),
            source="" if self.source.isHidden() else self.source.text(),
            on_result=lambda results: self._show(results, names),
        )

    def _show(self, results: list[list[SentenceScore]], names: list[str]) -> None:
        self.results, self.names = results, names
        self.token_views[1].setVisible(len(results) > 1)
        self.table.show_results(results, names)
        self.scored.emit()

    def show_tokens(self, index: int) -> None:
        """The sentence `index` token by token, for each model, on one colour scale."""
        scale = max(
            (t.surprisal_bits for scores in self.results for s in scores for t in s.tokens), default=0.0
        )
        for view, scores, name in zip(self.token_views, self.results, self.names, strict=False):
            view.show_score(scores[index], scale, name)

    def restyle(self) -> None:
        for view in self.token_views:
            view.restyle()

    def shutdown(self) -> None:
        self.state.settings.setValue(SENTENCES_KEY, self.editor.toPlainText())
        self.runner.cancel()
