"""The Minimal pairs sub-tab: does the model prefer the acceptable sentence of each pair?

The shipped example list is shown at first (or the last TSV the user opened); after scoring, each pair
shows both scores, the margin and ✓/✗, the summary counts them, and "Wrong first" sorts by margin so the
pairs the model gets wrong, most confidently wrong first, head the list.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.score.pairs import PairsResult, example_pairs_path, read_pairs, score_pairs
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.score.model_bar import ModelBar
from lmstudio_app.ui.score.run_bar import RunBar
from lmstudio_app.ui.score.tables import Cell, fill, make_table, number_cell, text_cell, two_line_rows

PAIRS_FILE_KEY = "score/pairs_file"
HEADERS = ["Acceptable", "Unacceptable", "Log-prob (acc.)", "Log-prob (unacc.)", "Margin", "Preferred"]
MARGIN_COLUMN = 4


def summary_text(result: PairsResult) -> str:
    """ "19 of 24 preferred the acceptable sentence (79 %)"."""
    return (
        f"{result.preferred_first} of {result.pairs} preferred the acceptable sentence "
        f"({result.accuracy * 100:.0f} %), method {result.method}."
    )


class PairsTab(QWidget):
    """A two-column list of pairs, scored on Ctrl+Enter; read the summary, then the wrong ones first."""

    scored = Signal()

    def __init__(self, state: AppState, models: ModelBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.models = state, models
        self.pairs: list[tuple[str, str]] = []
        self.result: PairsResult | None = None
        self.source = QLabel()
        self.source.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.example_button = QPushButton("Example list")
        self.example_button.setToolTip("The app's own example pairs (resources/score/minimal_pairs.tsv)")
        self.example_button.clicked.connect(lambda: self.load(example_pairs_path()))
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("A UTF-8 TSV file: acceptable<TAB>unacceptable, one pair per line")
        self.open_button.clicked.connect(self.open_file)
        self.wrong_button = QPushButton("Wrong first", enabled=False)
        self.wrong_button.setToolTip(
            "Sort by margin: the pairs the model gets wrong, most confidently wrong first"
        )
        self.wrong_button.clicked.connect(self.wrong_first)
        self.runner = RunBar("Score", "Score the minimal pairs")
        self.runner.run.connect(self.run)
        self.summary = QLabel(wordWrap=True)
        font = self.summary.font()  # a font, not a style sheet: a styled label misses theme switches
        font.setBold(True)
        self.summary.setFont(font)
        self.table = make_table(HEADERS, text_columns=2)
        two_line_rows(self.table)
        self._layout()
        self.load(Path(str(state.settings.value(PAIRS_FILE_KEY, example_pairs_path()))), remember=False)

    def _layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.source, 1)
        row.addWidget(self.example_button)
        row.addWidget(self.open_button)
        row.addWidget(self.wrong_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.runner)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    def open_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Minimal pairs", "", "TSV files (*.tsv *.txt);;All files (*)"
        )
        if name:
            self.load(Path(name))

    def load(self, path: Path, remember: bool = True) -> None:
        """Show a TSV's pairs (unscored); a bad file keeps the current list and says why."""
        try:
            pairs = read_pairs(path)
        except (UserError, OSError) as exc:
            if remember or path == example_pairs_path():
                self.runner.say("error", str(exc))
                return
            self.load(example_pairs_path(), remember=False)  # the remembered file has gone
            return
        if remember:
            self.state.settings.setValue(PAIRS_FILE_KEY, str(path))
        self.pairs, self.result = pairs, None
        shipped = path == example_pairs_path()
        self.source.setText(f"{len(pairs)} pairs from {'the example list' if shipped else path.name}")
        self.source.setToolTip(str(path))
        self.summary.setText("")
        self.wrong_button.setEnabled(False)
        fill(
            self.table, [[text_cell(good, i), text_cell(bad, i)] for i, (good, bad) in enumerate(self.pairs)]
        )
        self.runner.say("", "")

    def run(self) -> None:
        model = self.models.model()
        if model is None:
            self.runner.say("error", "Load a masked-LM or causal-LM model first (see the note above).")
            return
        self.runner.start(
            score_pairs,
            model.model,
            model.tokenizer,
            self.pairs,
            self.models.method_for(model),
            on_result=self._show,
        )

    def _show(self, result: PairsResult) -> None:
        self.result = result
        rows = []
        for i, r in enumerate(result.rows):
            mark = Cell("✓" if r.preferred_first else "✗")
            mark.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            mark.setToolTip(
                "The acceptable sentence scores higher" if r.preferred_first else "A tie or the wrong one"
            )
            rows.append(
                [
                    text_cell(r.acceptable, i),
                    text_cell(r.unacceptable, i),
                    number_cell(fmt.log_prob(r.acceptable_score), r.acceptable_score, i),
                    number_cell(fmt.log_prob(r.unacceptable_score), r.unacceptable_score, i),
                    number_cell(fmt.log_prob(r.margin), r.margin, i),
                    mark,
                ]
            )
        fill(self.table, rows)
        self.summary.setText(summary_text(result))
        self.wrong_button.setEnabled(True)
        self.scored.emit()

    def wrong_first(self) -> None:
        self.table.sortItems(MARGIN_COLUMN, Qt.SortOrder.AscendingOrder)

    def shutdown(self) -> None:
        self.runner.cancel()
