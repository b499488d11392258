"""How the fine-tune views show a multi-label run: its curves and figures while it trains; its scores, its
threshold and one text's labels in the Results view."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidgetItem

from lmstudio_app.ui import format as fmt

CURVES = (  # LossCurves' (event key, legend, pen): micro-F1 where a classifier plots accuracy
    ("eval_loss", "eval loss", Qt.PenStyle.SolidLine),
    ("eval_micro_f1", "micro-F1", Qt.PenStyle.DashLine),
    ("eval_macro_f1", "macro-F1", Qt.PenStyle.DotLine),
)


def is_multi_label(result: Any) -> bool:
    return bool(getattr(result, "multi_label", False))


def figures(event: dict) -> str:
    """An evaluation's (or the final metrics') figures in words; "" for a single-label run's."""
    if "eval_micro_f1" not in event:
        return ""
    return (
        f"micro-F1 {float(event['eval_micro_f1']):.3f}, macro-F1 {float(event.get('eval_macro_f1', 0)):.3f} "
        f"(threshold {float(event.get('eval_threshold', 0.5)):.2f})"
    )


def show_kind(view: Any, multi: bool) -> None:
    """The Results view's headers, tabs and tooltips for a single- or a multi-label result."""
    view.per_class.setHorizontalHeaderItem(0, QTableWidgetItem("Label" if multi else "Class"))
    view.heatmap.setVisible(not multi)  # labels are not exclusive: there is no confusion between them
    view.tabs.setTabText(0, "Scores per label" if multi else "Scores and confusion matrix")
    view.try_result.setToolTip(
        "The probability of every label (a sigmoid each); those from the threshold on apply"
        if multi
        else "The probability of every class (a softmax over the classes)"
    )


def verdicts(multi: bool) -> list[str]:
    """The mistakes table's headers for what was true and what was predicted."""
    return ["True labels", "Predicted labels"] if multi else ["True", "Predicted"]


def data_source(saved: Any) -> Any:
    """How a run read its training table (settings.json), e.g. several labels per row and their separator."""
    from lmstudio_app.core.finetune.datasets import DataPlan

    return DataPlan.from_saved(saved.job).data


def summary_html(result: Any) -> str:
    """Micro/macro F1 large, then the exact-match share, the threshold and where it came from."""
    m = result.metrics
    tuned = str(m.get("threshold_source", "")).startswith("tuned")
    where = (
        "tuned on the validation rows to maximise micro-F1, so these scores are slightly optimistic"
        if tuned
        else "fixed"
    )
    return (
        f"<span style='font-size: 15pt'>Micro-F1 <b>{m.get('eval_micro_f1', 0):.3f}</b> &nbsp; "
        f"macro-F1 <b>{m.get('eval_macro_f1', 0):.3f}</b></span> &nbsp; all labels right for "
        f"{fmt.percent(m.get('eval_exact_match', 0))} of {m.get('val_rows', 0):,} validation texts; "
        f"validation loss {m.get('eval_loss', float('nan')):.4f}; {len(result.labels)} labels."
        f"<br>A label applies from probability <b>{result.threshold or 0.5:.3f}</b> ({where})."
        f"<br>Model folder: {html.escape(str(result.model_dir))}"
    )


def prediction_html(scores: Any) -> str:
    """The labels that apply (→, bold) and every label's probability, most likely first."""
    chosen = set(scores.predicted)
    applies = ", ".join(
        f"<b>{html.escape(name)}</b> {fmt.percent(p)}" for name, p in scores.scores if name in chosen
    )
    rest = ", ".join(
        f"{html.escape(name)} {fmt.percent(p)}" for name, p in scores.scores if name not in chosen
    )
    head = f"→ {applies}" if applies else "→ <b>no label</b>"
    below = f"<br>below {scores.threshold:.2f}: {rest}" if rest else ""
    return head + below
