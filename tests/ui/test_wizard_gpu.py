"""The fine-tune wizard on a CUDA GPU in bf16 and fp16: the path a user clicks, down to the saved run.
Run by benchmarks/gpu_check.sh (pytest -m gpu); skipped on a machine without CUDA."""

from __future__ import annotations

import json
import math

import pytest
from wizard_helpers import (
    click_next,
    drive_to_settings,
    quick_settings,
    stop_training_at_teardown,  # noqa: F401 (a fixture)
    write_reviews,
)

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda(), reason="needs a CUDA device")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.usefixtures("stop_training_at_teardown")
def test_wizard_trains_on_the_gpu_in_half_precision(qtbot, tmp_path, tiny_model, precision):
    wizard = FineTuneWizard(AppState())
    wizard.ask_stop_training = lambda: True
    qtbot.addWidget(wizard)
    drive_to_settings(qtbot, wizard, write_reviews(tmp_path / "reviews.csv", 48))
    page = wizard.settings_page
    quick_settings(wizard, str(tiny_model("encoder")), max_steps=6, eval_steps=3)
    qtbot.waitUntil(lambda: page.device.findData("cuda:0") >= 0, timeout=60_000)
    page.device.setCurrentIndex(page.device.findData("cuda:0"))
    page.precision.setCurrentIndex(page.precision.findData(precision))
    click_next(qtbot, wizard)
    view = wizard.train_page.view
    qtbot.waitUntil(lambda: view.state != "running", timeout=120_000)
    assert view.state == "finished", view.status.text()
    metrics = json.loads((wizard.ctx.run_dir / "metrics.json").read_text())
    assert (metrics["device"], metrics["precision"]) == ("cuda", precision)
    assert math.isfinite(metrics["eval_loss"]) and math.isfinite(metrics["train_loss"])
