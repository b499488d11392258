"""The Pre-train wizard driven like a user with a tiny BERT: text -> model -> objective -> settings -> train ->
results, then the run in the Fine-tune tab's list with its kind, and "Fine-tune from this model"."""

from __future__ import annotations

from pathlib import Path

import pytest
from pretrain_helpers import write_corpus
from PySide6.QtCore import Qt
from wizard_helpers import click_next, stop_training_at_teardown  # noqa: F401 (a fixture)

from lmstudio_app.ui.app_state import AppState  # noqa: E402
from lmstudio_app.ui.finetune.panel import FineTunePanel  # noqa: E402
from lmstudio_app.ui.theme import apply_theme  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def shoot(widget, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    assert widget.grab().save(str(ARTIFACTS / name))


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.usefixtures("stop_training_at_teardown")
def test_pretrain_wizard_end_to_end_and_in_the_runs_list(qtbot, tmp_path, tiny_model, theme):
    apply_theme(theme)
    panel = FineTunePanel(AppState())
    qtbot.addWidget(panel)
    panel.show()
    qtbot.mouseClick(panel.buttons["New pre-training…"], Qt.MouseButton.LeftButton)
    wizard = panel.pretrain_wizard
    wizard.ask_stop_training = lambda: True

    # Text: counts, duplicates and the held-out share are shown; an empty file blocks Next.
    page = wizard.text_page
    (tmp_path / "empty.txt").write_text("\n")
    page.path_edit.setText(str(tmp_path / "empty.txt"))
    page.read()
    qtbot.waitUntil(lambda: not page.busy, timeout=20_000)
    assert not page.isComplete() and "has no text" in page.summary.text()
    corpus = write_corpus(tmp_path / "corpus.txt", 300)
    with corpus.open("a") as f:
        f.write("The red cat sat on the blue mat. The cat was old.\n" * 3)
    page.path_edit.setText(str(corpus))
    page.read()
    qtbot.waitUntil(page.isComplete, timeout=30_000)
    assert "duplicate lines removed" in page.summary.text() and "tokens" in page.summary.text()
    shoot(wizard, f"pretrain_text_{theme}.png")
    click_next(qtbot, wizard)

    # Model: an encoder gets a tied head, said in words.
    models = wizard.model_page
    offered = [models.model_combo.itemText(i) for i in range(models.model_combo.count())]
    assert "minilm-mlm" in offered and "minilm-clm" not in offered  # the embedded decoder is no base here
    models.model_combo.setCurrentText(str(tiny_model("encoder")))
    models.check_model()
    qtbot.waitUntil(models.isComplete, timeout=20_000)
    assert "decoder tied to the word embeddings" in models.notes.text()
    click_next(qtbot, wizard)

    # Objective: NSP is offered for a BERT; a probe without [MASK] blocks Next.
    objective = wizard.objective_page
    assert objective.nsp.isEnabled()
    objective.nsp.setChecked(True)
    objective.beta.setValue(0.5)
    objective.probes.setPlainText("The cat sat on the mat.")
    assert not objective.isComplete() and "has no [MASK]" in objective.description.text()
    objective.probes.setPlainText("The cat sat on the [MASK].\nThe dog sat on the [MASK].")
    assert objective.isComplete() and "1·MLM + 0.5·NSP" in objective.description.text()
    shoot(wizard, f"pretrain_objective_{theme}.png")
    click_next(qtbot, wizard)

    # Settings: the equivalent command line follows the fields.
    settings = wizard.settings_page
    settings.max_steps.setValue(8)
    settings.eval_steps.setValue(4)
    settings.batch.setValue(16)
    settings.lr.setText("5e-3")
    settings.precision.setCurrentIndex(settings.precision.findData("fp32"))
    command = settings.command.text()
    assert command.startswith("lmstudio-app pretrain --text") and "--nsp --alpha 1 --beta 0.5" in command
    assert "--max-steps 8" in command and "--lr 0.005" in command
    shoot(wizard, f"pretrain_settings_{theme}.png")
    click_next(qtbot, wizard)

    # Train: live figures and the probes' predictions, before and now.
    view = wizard.train_page.view
    qtbot.waitUntil(lambda: view.state == "finished", timeout=180_000)
    assert view.probe_table.rowCount() == 2 and view.probe_table.item(0, 1).text()
    assert view.probe_table.horizontalHeaderItem(2).text() == "Now (step 8)"
    assert "top-1" in view.figures.text() and "NSP" in view.figures.text()
    assert view.curves.points("eval_mlm_top5")[0] == [0.0, 4.0, 8.0]
    button = wizard.button(wizard.WizardButton.NextButton).text()
    assert f"Click “{button}”" in view.status.text()  # the hint names the button the user sees
    shoot(wizard, f"pretrain_train_{theme}.png")
    click_next(qtbot, wizard)

    # Results: before/after and the probes side by side.
    results = wizard.results_page.view
    rows = {results.figures.item(r, 0).text(): r for r in range(results.figures.rowCount())}
    assert {"Masked-token top-1 accuracy", "Perplexity (lower is better)", "Next-sentence accuracy"} <= set(
        rows
    )
    assert "(better)" in results.figures.item(rows["Perplexity (lower is better)"], 3).text()
    assert results.probes.item(1, 0).text() == "The dog sat on the [MASK]."
    shoot(wizard, f"pretrain_results_{theme}.png")

    # Save as a folder.
    target = tmp_path / "saved"
    results.choose_folder = lambda: str(target)
    worker = results.save_as()
    qtbot.waitUntil(lambda: worker.done, timeout=20_000)
    assert (target / "config.json").is_file() and not list(target.glob("checkpoint-*"))

    # The runs list shows the run with its kind; Fine-tune from this model opens the other wizard.
    panel.refresh()
    row = next(r for r in range(panel.runs.rowCount()) if panel.runs.item(r, 2).text() == "pre-training")
    assert panel.runs.item(row, 1).text() == "finished"
    qtbot.mouseClick(results.buttons["Fine-tune from this model"], Qt.MouseButton.LeftButton)
    assert panel.wizard.isVisible()
    assert panel.wizard.settings_page.model_combo.currentText() == str(wizard.ctx.result.model_dir)
    panel.runs.select_path(wizard.ctx.run_dir)
    dialog = panel.open_results()
    qtbot.waitUntil(lambda: dialog.stack.currentWidget() is dialog.results_view, timeout=20_000)
    assert dialog.results_view.probes.rowCount() == 2
    panel.wizard.close()
    apply_theme("light")
