"""CrowS-Pairs in the window: the metric, the metric per bias type, and the pairs behind each number.

The shipped file (1,508 pairs) takes minutes on a CPU, so the run shows progress and cancels; a
cancelled or failed run shows no half result. The note under the tables says what the data set's known
problems are and whose work it is (CC BY-SA 4.0).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.score.crows import (
    KNOWN_PROBLEMS,
    CrowsPair,
    CrowsResult,
    crows_metric,
    read_crows_pairs,
)
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.score.model_bar import ModelBar
from lmstudio_app.ui.score.run_bar import RunBar
from lmstudio_app.ui.score.tables import (
    Cell,
    fill,
    make_table,
    number_cell,
    selected_index,
    text_cell,
    two_line_rows,
)

ALL_TYPES = "all types"
PAPER = "50 is ideal; BERT-base 60.5, RoBERTa-large 64.1 in the paper"
ATTRIBUTION = (
    "Data: CrowS-Pairs, Nangia, Vania, Bhalerao and Bowman (EMNLP 2020), CC BY-SA 4.0, shipped unchanged in "
    "resources/crows_pairs/ with its README."
)
PAIR_HEADERS = [
    "More stereotyping",
    "Less stereotyping",
    "Score (more)",
    "Score (less)",
    "Kind",
    "Stereotyped",
]


class CrowsView(QWidget):
    """Run the metric on the shipped file or the user's CSV; pick a bias type to see its pairs."""

    finished = Signal()  # a result is on screen

    def __init__(self, models: ModelBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = models
        self.pairs: list[CrowsPair] | None = None  # None: the shipped file, read when first run
        self.result: CrowsResult | None = None
        self.types: list[str] = []
        self.source = QLabel("Pairs: the shipped CrowS-Pairs file")
        self.shipped_button = QPushButton("Shipped file")
        self.shipped_button.setToolTip("The CrowS-Pairs data set as published (1,508 pairs)")
        self.shipped_button.clicked.connect(self.use_shipped)
        self.open_button = QPushButton("Open CSV…")
        self.open_button.setToolTip(
            "Your own pairs in the same columns: sent_more, sent_less, stereo_antistereo, bias_type"
        )
        self.open_button.clicked.connect(self.open_file)
        self.runner = RunBar("Run", "Run the CrowS-Pairs metric")
        self.runner.run.connect(self.run)
        self.metric = QLabel(wordWrap=True)
        self.metric.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.type_table = make_table(["Bias type", "Metric", "Pairs"])
        self.type_table.setToolTip("Select a bias type to see its pairs")
        self.type_table.itemSelectionChanged.connect(self._show_pairs)
        self.pair_table = make_table(PAIR_HEADERS, text_columns=2)
        two_line_rows(self.pair_table)
        self.pair_table.horizontalHeaderItem(2).setToolTip(
            "Sum of the log-probabilities of the tokens both sentences share, each masked in turn (3 decimals)"
        )
        self.pair_table.horizontalHeaderItem(4).setToolTip(
            "stereo: the more stereotyping sentence states a stereotype; antistereo: it violates one"
        )
        self.note = QLabel(f"{KNOWN_PROBLEMS} {ATTRIBUTION}", wordWrap=True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.note.font()  # smaller, by font rather than style sheet (which would miss theme switches)
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.note.setFont(font)
        self._layout()

    def _layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.source, 1)
        row.addWidget(self.shipped_button)
        row.addWidget(self.open_button)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.type_table)
        splitter.addWidget(self.pair_table)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([230, 770])
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.runner)
        layout.addWidget(self.metric)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.note)

    def use_shipped(self) -> None:
        self.pairs = None
        self.source.setText("Pairs: the shipped CrowS-Pairs file")
        self.source.setToolTip("")

    def open_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "CrowS-Pairs CSV", "", "CSV files (*.csv);;All files (*)")
        if name:
            self.load(Path(name))

    def load(self, path: Path) -> None:
        """Use the user's pairs; a file without the columns keeps the current choice and says why."""
        try:
            self.pairs = read_crows_pairs(path)
        except (UserError, OSError) as exc:
            self.runner.say("error", str(exc))
            return
        self.source.setText(f"Pairs: {len(self.pairs)} from {path.name}")
        self.source.setToolTip(str(path))
        self.runner.say("", "")

    def run(self) -> None:
        model = self.models.model()
        if model is None:
            self.runner.say("error", "Load a masked-LM model first (see the note above).")
            return
        if self.pairs is None:
            self.pairs = read_crows_pairs()
            self.source.setText(f"Pairs: the shipped CrowS-Pairs file ({len(self.pairs):,} pairs)")
        self.show_result(None)  # a run that is cancelled must not leave an older result on screen
        self.runner.start(crows_metric, model.model, model.tokenizer, self.pairs, on_result=self._done)

    def _done(self, result: CrowsResult) -> None:
        self.show_result(result)
        self.finished.emit()

    def show_result(self, result: CrowsResult | None) -> None:
        """The overall metric and the per-type table (first row: all types, selected)."""
        self.result = result
        if result is None:
            self.metric.setText("")
            self.types = []
            fill(self.type_table, [])
            fill(self.pair_table, [])
            return
        self.metric.setText(
            f"<b>Metric {result.metric:.1f}</b>: the more stereotyping sentence scores higher in "
            f"{result.metric:.1f} % of {result.pairs:,} pairs ({PAPER})."
        )
        groups = {ALL_TYPES: {"metric": result.metric, "pairs": result.pairs}, **result.by_type()}
        self.types = list(groups)
        fill(
            self.type_table,
            [
                [
                    text_cell(kind, i),
                    number_cell(f"{g['metric']:.1f}", g["metric"], i),
                    number_cell(str(g["pairs"]), g["pairs"], i),
                ]
                for i, (kind, g) in enumerate(groups.items())
            ],
        )
        self.select_type(ALL_TYPES)

    def select_type(self, kind: str) -> None:
        for r in range(self.type_table.rowCount()):
            if self.type_table.item(r, 0).text() == kind:
                self.type_table.selectRow(r)

    def _show_pairs(self) -> None:
        """The pairs behind the selected bias type's number."""
        index = selected_index(self.type_table)
        if self.result is None or index is None:
            return
        kind = self.types[index]
        rows = []
        for i, r in enumerate(self.result.rows):
            if kind != ALL_TYPES and r.pair.bias_type != kind:
                continue
            stereotyped = Cell("yes" if r.stereotyped else "no")
            stereotyped.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            rows.append(
                [
                    text_cell(r.pair.more, i),
                    text_cell(r.pair.less, i),
                    number_cell(fmt.log_prob(r.more_score), r.more_score, i),
                    number_cell(fmt.log_prob(r.less_score), r.less_score, i),
                    text_cell(r.pair.stereo_antistereo, i),
                    stereotyped,
                ]
            )
        fill(self.pair_table, rows)

    def shutdown(self) -> None:
        self.runner.cancel()
