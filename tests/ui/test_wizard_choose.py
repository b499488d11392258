"""The fine-tune wizard's Base model step driven like a user: candidates with their sizes before loading,
an added folder, Rank with progress, Cancel, the ranking best first, a pick that the Settings page shows
with its memory estimate; screenshots in both themes at 1024x700."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox
from visual import assert_not_clipped, screenshot, settle
from wizard_helpers import click_next, next_enabled, write_reviews

from lmstudio_app.core.choose.rank import classifier_footprint
from lmstudio_app.core.models.devices import format_bytes
from lmstudio_app.core.models.footprint import activation_bytes
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard
from lmstudio_app.ui.theme import apply_theme


def _column(page, col: int) -> list[str]:
    return [page.table.item(r, col).text() for r in range(page.table.rowCount())]


def _tick_only(qtbot, page, names: set[str]) -> None:
    for row in range(page.table.rowCount()):
        box = page.table.cellWidget(row, 0).findChild(QCheckBox)
        if box.isChecked() != (page.table.item(row, 1).text() in names):
            qtbot.mouseClick(box, Qt.MouseButton.LeftButton)


@pytest.fixture
def wizard(qtbot, tmp_path):
    apply_theme("light")
    wizard = FineTuneWizard(AppState())
    wizard.ask_stop_training = lambda: True
    qtbot.addWidget(wizard)
    wizard.resize(1024, 700)
    wizard.show()
    wizard.open_file(write_reviews(tmp_path / "reviews.csv", n=40))
    for page in (wizard.data_page, wizard.columns_page, wizard.split_page):
        qtbot.waitUntil(page.isComplete, timeout=20_000)
        click_next(qtbot, wizard)
    assert wizard.currentPage() is wizard.choose_page
    yield wizard
    apply_theme("light")


def test_choose_rank_cancel_pick_then_settings(qtbot, wizard, tiny_model, minilm_dir) -> None:
    page = wizard.choose_page
    qtbot.waitUntil(page.isComplete, timeout=60_000)
    names = _column(page, 1)
    assert names[:2] == ["all-MiniLM-L6-v2", "minilm-mlm"] and "minilm-clm" not in names  # no decoder
    minilm = classifier_footprint(minilm_dir, 2)  # the size before loading: from the config
    assert _column(page, 3)[0] == f"{minilm.parameters / 1e6:.1f} M" == "22.7 M"
    assert _column(page, 4)[0] == format_bytes(4 * minilm.parameters)
    assert _column(page, 5)[0] == format_bytes(2 * minilm.parameters)

    # An added folder joins the list; a decoder is refused in one line.
    tiny = str(tiny_model("encoder"))
    page.add_edit.setText(tiny)
    qtbot.keyClick(page.add_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tiny in _column(page, 1), timeout=30_000)
    small = classifier_footprint(tiny_model("encoder"), 2)
    assert _column(page, 3)[_column(page, 1).index(tiny)] == f"{small.parameters / 1e3:.1f} k"
    page.add_edit.setText("minilm-clm")
    qtbot.keyClick(page.add_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "causal LM" in page.status.text(), timeout=30_000)
    assert "minilm-clm" not in _column(page, 1)

    # Rank, then cancel at once: nothing is ranked and Rank comes back.
    _tick_only(qtbot, page, {"all-MiniLM-L6-v2", tiny})
    qtbot.mouseClick(page.rank_button, Qt.MouseButton.LeftButton)
    assert page.busy and not next_enabled(wizard)
    assert page.cancel_button.isEnabled() and not page.rank_button.isEnabled()
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.busy, timeout=60_000)
    assert "Cancelled" in page.status.text() and _column(page, 6) == [""] * page.table.rowCount()
    assert page.rank_button.isEnabled() and not page.cancel_button.isEnabled()

    # Rank to the end: progress moves and names each model, the best comes first and is picked.
    messages: list[str] = []
    qtbot.mouseClick(page.rank_button, Qt.MouseButton.LeftButton)
    page.ranker.current.progress.connect(lambda _f, m: messages.append(m))
    qtbot.waitUntil(lambda: not page.busy, timeout=120_000)
    assert page.progress.value() == 1000 and "Ranked 2 models on 32 rows" in page.status.text()
    assert any(m.startswith("all-MiniLM-L6-v2 (") and "embedding" in m for m in messages), messages
    assert _column(page, 1)[:2] == ["all-MiniLM-L6-v2", tiny]  # pretrained above random, by LogME
    scores = [float(s) for s in _column(page, 6)[:2]]
    assert scores == sorted(scores, reverse=True) and page.picked_candidate().name == "all-MiniLM-L6-v2"
    for theme in ("light", "dark"):
        apply_theme(theme)
        settle(qtbot)
        screenshot(wizard, f"finetune-choose-{theme}-1024x700")
        assert_not_clipped(wizard)

    # Pick the other row: Next shows it as the Settings page's base model, with its memory estimate.
    page.table.selectRow(1)
    assert tiny in page.pick_note.text()
    click_next(qtbot, wizard)
    settings = wizard.settings_page
    assert wizard.currentPage() is settings and settings.model_combo.currentText() == tiny
    qtbot.waitUntil(lambda: settings.memory.footprint is not None, timeout=60_000)
    assert settings.memory.footprint == small
    settings.precision.setCurrentIndex(settings.precision.findData("fp32"))
    settings.batch.setValue(8)
    expected = 16 * small.parameters + activation_bytes(small.shape, 8, settings.max_length.value(), "fp32")
    assert settings.memory.training_bytes() == expected
    assert format_bytes(expected) in settings.memory.text() and "batch 8" in settings.memory.text()
    for theme in ("light", "dark"):
        apply_theme(theme)
        settle(qtbot)
        screenshot(wizard, f"finetune-settings-memory-{theme}-1024x700")
        assert_not_clipped(wizard)
