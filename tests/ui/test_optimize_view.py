"""The Results page's Optimize button and the Fill-mask tab's fast runtime, driven as a user does; the
views are saved in both themes at 1024x700 (tests/artifacts/optimize-*.png) and checked for readability."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from optimize_helpers import trained_classifier
from PySide6.QtWidgets import QInputDialog
from visual import assert_not_clipped, assert_plot_readable, screenshot, settle

from lmstudio_app.core.finetune.predict import predict_texts
from lmstudio_app.core.models.onnx_runtime import OnnxMaskedLM
from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM, find_embedded
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.fillmask.panel import FillMaskPanel
from lmstudio_app.ui.finetune.results_view import ResultsView
from lmstudio_app.ui.qthreading import wait_all
from lmstudio_app.ui.theme import apply_theme

WAIT_MS = 180_000


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_model):
    return trained_classifier(tmp_path_factory.mktemp("optimize_run"), tiny_model("encoder"))


def test_the_optimize_button_shows_the_comparison_and_the_try_box_runs_it(qtbot, run, monkeypatch):
    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(1024, 700)
    view.show()
    view.set_result(run)
    assert not view.tabs.isTabVisible(view.tabs.indexOf(view.optimized.view))
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: (a[3][0], True))  # the int8 choice
    with qtbot.waitSignal(view.action_finished, timeout=WAIT_MS) as done:
        view.buttons["Optimize for CPU…"].click()
    message, ok = done.args
    assert ok, message
    out = Path(run.run_dir) / "optimized-int8"
    assert message == f"Optimized model written to {out}: see the Optimized tab."
    saved = json.loads((out / "comparison.json").read_text())

    assert view.tabs.currentWidget() is view.optimized.view
    assert view.tabs.tabText(view.tabs.currentIndex()) == "Optimized (onnx-int8)"
    table = view.optimized.view.table
    shown = [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]
    assert [row[:2] for row in shown] == [
        ["original", "torch float32"], ["onnx-fp32", "ONNX Runtime"], ["onnx-int8", "ONNX Runtime"],
    ]  # fmt: skip
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    for row, variant in zip(shown, saved["variants"], strict=True):
        assert row[headers.index("p50 ms")] == f"{variant['latency_ms_p50']:.2f}"
        assert row[headers.index("accuracy")] == f"{variant['accuracy']:.3f}"
        assert row[headers.index("agreement")] == f"{variant['agreement']:.3f}"
    chart = view.optimized.view
    assert chart.shown_values() == {v["name"]: v["latency_ms_p50"] for v in saved["variants"]}
    chart.metric.setCurrentIndex(chart.metric.findData("size_mb"))
    assert chart.shown_values() == {v["name"]: v["size_mb"] for v in saved["variants"]}
    assert "validation rows of the run run" in chart.summary.text()
    assert "as fast as the original at batch 1" in chart.summary.text()

    view.try_model.setCurrentIndex(view.try_model.findData(str(out)))
    text = "bad awful sad film"
    view.try_edit.setText(text)
    label = predict_texts(out, [text])[0][0]
    qtbot.waitUntil(lambda: f"<b>{label}</b>" in view.try_result.text(), timeout=WAIT_MS)

    chart.metric.setCurrentIndex(chart.metric.findData("latency_ms_p50"))
    for theme in ("light", "dark"):
        apply_theme(theme)
        settle(qtbot, 300)
        screenshot(view, f"optimize-results-{theme}-1024x700")
        assert_plot_readable(chart.bars)
        assert_not_clipped(view)
    apply_theme("light")

    reopened = ResultsView()  # the comparison is saved with the run: opening the run shows it again
    qtbot.addWidget(reopened)
    reopened.set_result(run)
    assert reopened.tabs.isTabVisible(reopened.tabs.indexOf(reopened.optimized.view))
    assert reopened.try_model.findData(str(out)) == 1
    wait_all()


def test_the_fill_mask_fast_runtime_gives_the_torch_candidates(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("LMSTUDIO_HOME", str(tmp_path))
    state = AppState()
    state.add_loaded(state.registry.load(str(find_embedded(DEFAULT_MASKED_LM).path), duplicate="copy"))
    panel = FillMaskPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1024, 700)
    panel.show()

    def candidates() -> list[str]:
        if not panel.views[0].mask_views:
            return []
        table = panel.views[0].mask_views[0].table
        return [table.item(r, 0).text() for r in range(table.rowCount())]

    panel.editor.setPlainText("the doctor told the [MASK] to rest.")
    qtbot.waitUntil(lambda: len(candidates()) == 5, timeout=WAIT_MS)
    torch_words = candidates()
    calls: list[int] = []
    original_logits = OnnxMaskedLM.logits

    def counted(self, rows, positions):  # noqa: ANN001, ANN202 (the method it stands in for)
        calls.append(len(rows))
        return original_logits(self, rows, positions)

    monkeypatch.setattr(OnnxMaskedLM, "logits", counted)
    panel.views[0].clear()
    panel.fast_box.setChecked(True)
    qtbot.waitUntil(
        lambda: panel.views[0].mask_views[0].isVisible() and len(candidates()) == 5, timeout=WAIT_MS
    )
    assert calls, "the fast runtime did not run the model"
    assert candidates() == torch_words
    for theme in ("light", "dark"):
        apply_theme(theme)
        settle(qtbot, 300)
        screenshot(panel, f"optimize-fillmask-fast-{theme}-1024x700")
        assert_not_clipped(panel)
    apply_theme("light")
    wait_all()
