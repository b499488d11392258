"""The results of a word-tagging run: token accuracy, entity precision/recall/F1 overall and per type (for
BIO/BIOES tags), scores per tag, the confusion between tags, "Try it", and what to do with the model.

The same view shows a run just trained (the wizard's last page) and a run reopened from the runs list.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from lmstudio_app.ui.finetune.run_dialog import RunDialog
from lmstudio_app.ui.taskviews.actions import finetune_command
from lmstudio_app.ui.taskviews.results_view import TaskResultsView
from lmstudio_app.ui.taskviews.tables import fill, score_table
from lmstudio_app.ui.tokens.train_view import TokenTrainView
from lmstudio_app.ui.tokens.try_view import TagTryView
from lmstudio_app.ui.widgets.confusion_heatmap import ConfusionHeatmap
from lmstudio_app.ui.widgets.deferred import Deferred

SCORES = ("precision", "recall", "f1")


def summary_html(result: Any) -> str:
    m = result.metrics
    big = f"Token accuracy <b>{m.get('eval_token_accuracy', float('nan')):.3f}</b>"
    if "eval_f1" in m:
        big += (
            f" &nbsp; entity F1 <b>{m['eval_f1']:.3f}</b> (precision {m.get('eval_precision', 0):.3f}, "
            f"recall {m.get('eval_recall', 0):.3f})"
        )
    words = int(m.get("val_words", 0) or sum(map(sum, result.confusion)))
    scheme = (
        f"{result.scheme} entities, scored with seqeval (conlleval's rules)"
        if result.scheme
        else "tags without entities (e.g. parts of speech): scored word by word"
    )
    split = int(m.get("split_sentences", 0) or 0)
    windows = f" {split:,} long sentence(s) were split into overlapping windows." if split else ""
    return (
        f"<span style='font-size: 15pt'>{big}</span><br>validation loss {m.get('eval_loss', float('nan')):.4f} "
        f"on {int(m.get('val_sentences', 0)):,} validation sentences ({words:,} words); {len(result.tags)} tags, "
        f"{html.escape(scheme)}.{windows}<br>Model folder: {html.escape(str(result.model_dir))}"
    )


class TokenResultsView(TaskResultsView):
    """`set_result(TokenResult)`; its tabs: scores, confusion, Try it; its actions below."""

    def __init__(self, app: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(app, parent)
        self.per_type = score_table(["Entity type", "Precision", "Recall", "F1", "Support"])
        self.per_tag = score_table(["Tag", "Precision", "Recall", "F1", "Support"])
        self.type_note = QLabel(wordWrap=True)
        self._heatmap = Deferred(ConfusionHeatmap)
        self.confusion_note = QLabel(
            "Rows: the true tag of each validation word; columns: the tag predicted; the colour is the "
            "share of the row (so a rare tag reads as well as O).",
            wordWrap=True,
        )
        self.try_view = TagTryView()
        scores = QWidget()
        row = QHBoxLayout(scores)
        left = QVBoxLayout()
        left.addWidget(QLabel("<b>Entities</b> (a whole span with its type must match)"))
        left.addWidget(self.per_type, 1)
        left.addWidget(self.type_note)
        right = QVBoxLayout()
        right.addWidget(QLabel("<b>Per tag</b> (word by word)"))
        right.addWidget(self.per_tag, 1)
        row.addLayout(left, 1)
        row.addLayout(right, 1)
        confusion = QWidget()
        box = QVBoxLayout(confusion)
        box.addWidget(self._heatmap, 1)
        box.addWidget(self.confusion_note)
        self.tabs.addTab(scores, "Scores")
        self.tabs.addTab(confusion, "Confusion between tags")
        self.tabs.addTab(self.try_view, "Try it")
        self._lay_out()

    @property
    def heatmap(self) -> ConfusionHeatmap:
        return self._heatmap.widget

    def set_result(self, result: Any) -> None:
        self.result = result
        self.summary.setText(summary_html(result))
        types = sorted(result.per_type)
        fill(
            self.per_type,
            [
                [
                    t,
                    *(float(result.per_type[t].get(k, 0.0)) for k in SCORES),
                    int(result.per_type[t].get("support", 0)),
                ]
                for t in types
            ],
        )
        self.per_type.setEnabled(bool(types))
        self.type_note.setText(
            ""
            if result.scheme
            else "These tags mark no entities (no B-/I- prefixes), so there are no entity scores: see the tags."
        )
        fill(
            self.per_tag,
            [
                [
                    t,
                    *(float(result.per_tag.get(t, {}).get(k, 0.0)) for k in SCORES),
                    int(result.per_tag.get(t, {}).get("support", 0)),
                ]
                for t in result.tags
            ],
        )
        self.heatmap.set_matrix(result.confusion, result.tags)
        self.try_view.set_model(result.model_dir, result.tags)
        self.actions.model_dir = Path(result.model_dir)

    def displayed_confusion(self) -> list[list[int]]:
        return self.heatmap.matrix.tolist()

    def command_text(self) -> str:
        from lmstudio_app.core.training.record import RunRecord

        saved = RunRecord(Path(self.result.run_dir)).saved_settings()
        plan = saved.job.get("data_plan") or {}
        extra = []
        if plan.get("tag_names"):
            extra += ["--tag-names", ",".join(plan["tag_names"])]
        if saved.settings.get("all_pieces"):
            extra.append("--all-pieces")
        settings = {
            **saved.settings,
            "val_fraction": plan.get("val_fraction", 0.2),
            "seed": plan.get("seed", 42),
        }
        out = str(Path(self.result.run_dir) / "cli-model")
        return finetune_command(
            "tokens", settings, str(plan.get("path", "")), plan.get("val_path"), out, extra
        )


class TokenRunDialog(RunDialog):
    """A word-tagging run from the runs list: its live training when resumed, then its results."""

    def __init__(self, app: Any, run_dir: Path, parent: QWidget | None = None) -> None:
        from lmstudio_app.core.tokens.settings import TokenResult

        super().__init__(run_dir, (TokenTrainView(), TokenResultsView(app)), TokenResult.load, parent)
        self.setWindowTitle(f"Word-tagging run {self.run_dir.name}")
