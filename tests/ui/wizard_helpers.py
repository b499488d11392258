"""Shared by the wizard and Fine-tune panel tests: generated data and driving the wizard like a user."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from lmstudio_app.ui.finetune.training_session import active_sessions

POSITIVE = ["great movie", "i love it", "wonderful film", "very good", "happy with this", "good book"]
NEGATIVE = ["terrible film", "i hate it", "bad movie", "very sad", "awful play", "bad food"]


def write_reviews(path: Path, n: int = 40, seed: int = 0) -> Path:
    """n rows of text,label (half each class), one 'Positive ' variant, one row with an empty text."""
    rng = random.Random(seed)
    rows = ["text,label"]
    for i in range(n):
        if i % 2:
            label = "Positive " if i == 1 else "positive"
            rows.append(f'"{rng.choice(POSITIVE)}, really",{label}')
        else:
            rows.append(f"{rng.choice(NEGATIVE)} indeed,negative")
    rows.append(",negative")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def click_next(qtbot, wizard: QWizard) -> None:
    button = wizard.button(QWizard.WizardButton.NextButton)
    assert button.isEnabled(), f"Next is disabled on {wizard.currentPage().title()}"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def next_enabled(wizard: QWizard) -> bool:
    return wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def drive_to_settings(qtbot, wizard, csv: Path) -> None:
    """Data -> Columns -> Split -> Base model (nothing picked) -> Settings with the defaults, waiting for
    each page's background work."""
    wizard.show()
    wizard.data_page.path_edit.setText(str(csv))
    qtbot.keyClick(wizard.data_page.path_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(wizard.data_page.isComplete, timeout=20_000)
    click_next(qtbot, wizard)
    qtbot.waitUntil(wizard.columns_page.isComplete, timeout=20_000)
    click_next(qtbot, wizard)
    qtbot.waitUntil(wizard.split_page.isComplete, timeout=20_000)
    click_next(qtbot, wizard)
    pass_choose_page(qtbot, wizard)
    page = wizard.settings_page
    qtbot.waitUntil(lambda: not page.measuring, timeout=60_000)
    assert page.isComplete(), page.message.text()


def pass_choose_page(qtbot, wizard) -> None:
    """Go on from the optional Base model page without ranking or picking anything."""
    assert wizard.currentPage() is wizard.choose_page
    qtbot.waitUntil(wizard.choose_page.isComplete, timeout=30_000)
    click_next(qtbot, wizard)


def quick_settings(wizard, model: str, max_steps: int, eval_steps: int, batch: int = 8) -> None:
    page = wizard.settings_page
    page.model_combo.setCurrentText(model)
    page.max_steps.setValue(max_steps)
    page.eval_steps.setValue(eval_steps)
    page.batch.setValue(batch)
    page.patience.setValue(0)


@pytest.fixture
def stop_training_at_teardown(qtbot):
    """A failing test must not leave a training thread running into the next test or interpreter exit."""
    yield
    sessions = active_sessions()
    for session in sessions:
        session.cancel()
    for session in sessions:
        session.wait()
