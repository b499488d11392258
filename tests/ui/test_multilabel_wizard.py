"""The fine-tune wizard on a multi-label table, driven like a user: the columns page notices several labels
per row and their separator, the split counts rows per label, a tiny BERT trains a few steps, and the Results
page and its try-it show every label's score, those from the threshold on in bold. Screenshots of both pages,
light and dark, at 1024x700."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from multilabel_helpers import LABELS, QUICK, rule_table
from visual import assert_not_clipped, settle
from wizard_helpers import click_next, stop_training_at_teardown  # noqa: F401 (a fixture)

from lmstudio_app.core.finetune.multilabel_predict import label_scores
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard
from lmstudio_app.ui.theme import apply_theme

SHOTS = Path("/tmp/shots/multilabel")


def shoot(qtbot, wizard, name: str) -> None:
    """The wizard at 1024x700 in the light and the dark theme, saved to look at; nothing cut off."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for theme in ("light", "dark"):
        apply_theme(theme)
        settle(qtbot, 300)
        assert_not_clipped(wizard)
        assert wizard.grab().save(str(SHOTS / f"{name}-{theme}-1024x700.png"))
    apply_theme("light")


def label_counts(path: Path) -> dict[str, int]:
    """Rows per label, read from the file independently of the app."""
    with path.open(encoding="utf-8") as f:
        return dict(Counter(lab for row in csv.DictReader(f) for lab in row["labels"].split(";") if lab))


def quick_training(page, base: Path) -> None:
    page.model_combo.setCurrentText(str(base))
    page.max_steps.setValue(QUICK["max_steps"])
    page.eval_steps.setValue(4)
    page.batch.setValue(QUICK["batch_size"])
    page.lr.setCurrentText(str(QUICK["learning_rate"]))
    page.warmup.setValue(QUICK["warmup_ratio"])
    page.patience.setValue(0)
    page.seed.setValue(QUICK["seed"])
    page.max_length.setValue(QUICK["max_length"])
    page.precision.setCurrentIndex(page.precision.findData("fp32"))


@pytest.mark.usefixtures("stop_training_at_teardown")
def test_a_multi_label_table_trains_and_its_results_show_every_label(qtbot, tmp_path, tiny_model):
    apply_theme("light")
    wizard = FineTuneWizard(AppState())
    wizard.ask_stop_training = lambda: True
    qtbot.addWidget(wizard)
    wizard.resize(1024, 700)
    wizard.show()
    data = rule_table(tmp_path / "rule.csv", rows=200)
    wizard.open_file(data)
    qtbot.waitUntil(wizard.data_page.isComplete, timeout=20_000)
    click_next(qtbot, wizard)

    # Columns: the ';' in the label cells is noticed; the chart counts rows per label.
    columns = wizard.columns_page
    qtbot.waitUntil(columns.isComplete, timeout=20_000)
    assert columns.multi_box.isChecked() and columns.separator_combo.currentData() == ";"
    expected = label_counts(data)
    assert columns.chart.series == {"examples": expected}
    none = sum(1 for row in csv.DictReader(data.open(encoding="utf-8")) if not row["labels"])
    assert "200 examples</b> with <b>2 labels</b>" in columns.summary.text()
    assert f"({none} with none)" in columns.summary.text()
    shoot(qtbot, wizard, "columns")

    # Unticked, each combination is a class (and rows without a label are dropped); ticked again, labels.
    columns.set_multi_label(False)
    qtbot.waitUntil(columns.isComplete, timeout=20_000)
    assert "3 classes" in columns.summary.text() and f"{none} rows dropped" in columns.summary.text()
    columns.set_multi_label(True, ";")
    qtbot.waitUntil(columns.isComplete, timeout=20_000)
    assert columns.chart.series == {"examples": expected}
    click_next(qtbot, wizard)

    # Split: rows per label on each side.
    split = wizard.split_page
    qtbot.waitUntil(split.isComplete, timeout=20_000)
    rows = {split.table.item(r, 0).text(): int(split.table.item(r, 1).text()) for r in range(2)}
    assert set(rows) == set(LABELS)
    assert all(0 < rows[lab] < expected[lab] for lab in LABELS)
    while wizard.currentPage() is not wizard.settings_page:  # Base model (optional) and on
        qtbot.waitUntil(wizard.currentPage().isComplete, timeout=60_000)
        click_next(qtbot, wizard)

    # Train: the curves and the log speak of micro-F1.
    quick_training(wizard.settings_page, tiny_model("encoder"))
    click_next(qtbot, wizard)
    view = wizard.train_page.view
    qtbot.waitUntil(lambda: view.state != "running", timeout=300_000)
    assert view.state == "finished", view.status.text()
    assert view.curves.points("eval_micro_f1")[0] and not view.curves.points("eval_accuracy")[0]
    assert "micro-F1" in view.log.toPlainText() and "micro-F1" in view.status.text()

    # Results: micro/macro F1 and the threshold, a row per label, no confusion matrix.
    click_next(qtbot, wizard)
    results = wizard.results_page.view
    result = wizard.ctx.result
    m = result.metrics
    assert result.multi_label and 0 < result.threshold < 1
    summary = results.summary.text()
    assert f"Micro-F1 <b>{m['eval_micro_f1']:.3f}</b>" in summary and f"{result.threshold:.3f}" in summary
    assert "tuned on the validation rows" in summary
    assert results.per_class.horizontalHeaderItem(0).text() == "Label"
    assert [results.per_class.item(r, 0).text() for r in range(2)] == LABELS
    assert results.per_class.item(0, 3).text() == f"{result.per_class['animal']['f1']:.3f}"
    assert results.heatmap.isHidden() and results.tabs.tabText(0) == "Scores per label"
    assert results.tabs.tabText(1) == f"Wrong labels ({len(result.misclassified)})"

    # Try it: every label's score; those that apply (as the core scores them) in bold.
    for text in ("a red cat", "the old mat", "a blue dog sat"):
        results.try_result.setText("")
        results.try_edit.setText(text)
        qtbot.waitUntil(lambda: "→" in results.try_result.text(), timeout=30_000)
        shown = results.try_result.text()
        assert all(label in shown for label in LABELS) and shown.count("%") == len(LABELS)
        expected = label_scores(result.model_dir, text)
        assert [f"<b>{name}</b>" in shown for name in LABELS] == [n in expected.predicted for n in LABELS]
        assert ("no label" in shown) == (not expected.predicted)
    shoot(qtbot, wizard, "results")

    # The command line of the same job reads the labels the same way.
    command = results.command_text()
    assert "--multi-label --label-separator ';'" in command
