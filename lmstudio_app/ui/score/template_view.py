"""Template probes (Kurita et al. 2019) in the window: a template, target words per group, a table.

Each target's probability at the mask is shown beside its prior (the attribute masked too) and their log
ratio; the line above the table gives each group's mean log ratio, the number the paper compares.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.score.templates import (
    EXAMPLE,
    TargetProbe,
    group_log_ratios,
    parse_targets,
    parse_template,
    template_probe,
)
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.score.model_bar import ModelBar
from lmstudio_app.ui.score.run_bar import RunBar
from lmstudio_app.ui.score.tables import fill, make_table, number_cell, text_cell

TEMPLATE_KEY = "score/template"
TARGETS_KEY = "score/targets"
HEADERS = ["Target", "Group", "Probability", "Prior", "Log ratio"]
HEADER_HELP = (
    "",
    "",
    "P(target at the mask | the template)",
    "P(target at the mask | the template with the attribute masked too)",
    "ln(probability / prior): above 0, the attribute makes the target more probable",
)


class TemplateView(QWidget):
    """Type a template and targets, Ctrl+Enter; the table and the group means follow."""

    finished = Signal()

    def __init__(self, state: AppState, models: ModelBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.models = state, models
        self.attribute = ""
        self.template_edit = QLineEdit(str(state.settings.value(TEMPLATE_KEY, EXAMPLE)))
        self.template_edit.setPlaceholderText(EXAMPLE)
        self.template_edit.setToolTip(
            "One [MASK] where the target goes. The attribute (masked for the prior) is the last word, "
            "or the word you put in braces: [MASK] is a {nurse} in the city."
        )
        self.targets_edit = QLineEdit(str(state.settings.value(TARGETS_KEY, "he, she")))
        self.targets_edit.setPlaceholderText("he, she   or   male: he, him; female: she, her")
        self.targets_edit.setToolTip("Comma-separated words, or groups: name: word, word; name: word")
        self.runner = RunBar("Run", "Run the template probe")
        self.runner.run.connect(self.run)
        self.groups = QLabel(wordWrap=True)
        self.groups.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = make_table(HEADERS)
        for column, help_text in enumerate(HEADER_HELP):
            self.table.horizontalHeaderItem(column).setToolTip(help_text)
        intro = QLabel(
            "Kurita et al. (2019): the probability of each target word at the mask, beside its prior (the "
            "same template with the attribute masked too); log ratio = ln(probability / prior).",
            wordWrap=True,
        )
        form = QFormLayout()
        form.addRow("Template:", self.template_edit)
        form.addRow("Targets:", self.targets_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.runner)
        layout.addWidget(self.groups)
        layout.addWidget(self.table, 1)

    def run(self) -> None:
        model = self.models.model()
        if model is None:
            self.runner.say("error", "Load a masked-LM model first (see the note above).")
            return
        template, targets = self.template_edit.text(), self.targets_edit.text()
        self.state.settings.setValue(TEMPLATE_KEY, template)
        self.state.settings.setValue(TARGETS_KEY, targets)
        try:  # string work: a wrong template or target list is said at once, before any model work
            parsed = parse_targets(targets)
            where = parse_template(template, model.tokenizer.mask_token or "[MASK]")
        except UserError as exc:
            self.runner.say("error", str(exc))
            return
        self.attribute = where.text[where.attribute[0] : where.attribute[1]]
        self.runner.start(
            template_probe, model.model, model.tokenizer, template, parsed, on_result=self._show
        )

    def _show(self, probes: list[TargetProbe]) -> None:
        fill(
            self.table,
            [
                [
                    text_cell(p.target, i),
                    text_cell(p.group, i),
                    number_cell(fmt.percent(p.prob), p.prob, i),
                    number_cell(fmt.percent(p.prior), p.prior, i),
                    number_cell(fmt.log_ratio(p.log_ratio), p.log_ratio, i),
                ]
                for i, p in enumerate(probes)
            ],
        )
        means = group_log_ratios(probes)
        self.groups.setText(
            f"Attribute masked for the prior: '{self.attribute}'. Mean log ratio per group: "
            + ", ".join(f"{g} {fmt.log_ratio(v)}" for g, v in means.items())
        )
        self.finished.emit()

    def shutdown(self) -> None:
        self.runner.cancel()
