"""The "Processes / GPUs" setting of the Fine-tune and Pre-train wizards: stored in the settings, refused
with a message when the batch does not split evenly, in the command line; shown in both themes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lmstudio_app.core.pretrain.corpus import TextSource
from lmstudio_app.ui.finetune.wizard.context import WizardContext
from lmstudio_app.ui.finetune.wizard.settings_page import SettingsPage
from lmstudio_app.ui.pretrain.pages import PretrainContext
from lmstudio_app.ui.pretrain.pages import SettingsPage as PretrainSettingsPage
from lmstudio_app.ui.theme import apply_theme

SHOTS = Path(os.environ.get("LMSTUDIO_SHOTS", "/tmp/shots/scale"))


def shoot(widget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(SHOTS / name))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_finetune_settings_take_processes_that_divide_the_batch(qtbot, theme):
    apply_theme(theme)
    page = SettingsPage(WizardContext(text_column="text", label_column="label"))
    qtbot.addWidget(page)
    page.resize(1024, 700)
    page.show()
    page.model_combo.setCurrentText("all-MiniLM-L6-v2")
    page.batch.setValue(15)
    page.processes.setValue(2)
    assert not page.validatePage()
    assert "The batch size 15 does not divide over 2 processes" in page.message.text()
    shoot(page, f"finetune-settings-processes-refused-{theme}.png")
    page.batch.setValue(16)
    assert page.validatePage()
    assert (page.ctx.settings["processes"], page.ctx.settings["batch_size"]) == (2, 16)
    shoot(page, f"finetune-settings-processes-{theme}.png")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_pretrain_settings_take_processes_into_the_settings_and_command_line(qtbot, theme):
    apply_theme(theme)
    page = PretrainSettingsPage(PretrainContext(source=TextSource(paths=["corpus.txt"])))
    qtbot.addWidget(page)
    page.resize(1024, 700)
    page.show()
    page.batch.setValue(30)
    page.processes.setValue(4)
    assert not page.isComplete()
    assert "The batch size 30 does not divide over 4 processes" in page.message.text()
    shoot(page, f"pretrain-settings-processes-refused-{theme}.png")
    page.processes.setValue(3)
    assert page.isComplete() and page.message.text() == ""
    assert page.command.text().endswith("--processes 3")
    assert page.validatePage() and page.ctx.settings.processes == 3
    shoot(page, f"pretrain-settings-processes-{theme}.png")
