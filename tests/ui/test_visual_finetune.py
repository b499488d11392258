"""Fine-tune views as a person sees them: runs list, results (confusion matrix), curves and class charts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QVBoxLayout, QWidget
from visual import CASES, assert_not_clipped, assert_plot_readable, case_id, screenshot, settle

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.finetune.results_view import ResultsView
from lmstudio_app.ui.main_window import MainWindow
from lmstudio_app.ui.plot_theme import colours, contrast
from lmstudio_app.ui.widgets.class_bars import ClassBars
from lmstudio_app.ui.widgets.loss_curves import LossCurves

LABELS = ["negative", "neutral", "positive"]


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    """The main window on a data folder with no runs yet (earlier tests leave runs in the shared one)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LMSTUDIO_HOME", str(tmp_path_factory.mktemp("no_runs_home")))
        win = MainWindow(AppState())
        win.show()
        win.tabs.setCurrentWidget(win.panels["Fine-tune"])
        yield win
        win.close()


@pytest.fixture(scope="module")
def views(qapp, tmp_path_factory):
    """The results view of a three-class run, the training curves and the split chart, side by side."""
    page = QWidget()
    box = QVBoxLayout(page)
    results = ResultsView()
    result = SimpleNamespace(
        run_dir=tmp_path_factory.mktemp("run"),
        model_dir="model",
        labels=LABELS,
        metrics={"eval_accuracy": 0.8, "eval_macro_f1": 0.78, "eval_loss": 0.5},
        per_class={k: {"precision": 0.8, "recall": 0.8, "f1": 0.8, "support": 10} for k in LABELS},
        confusion=[[9, 1, 0], [2, 6, 2], [0, 1, 9]],
        misclassified=[],
    )
    results.set_result(result)
    curves = LossCurves()
    curves.add_events([{"type": "log", "step": s, "loss": 1.0 / s} for s in range(1, 41)])
    curves.add_events([{"type": "eval", "step": s, "eval_loss": 0.4, "eval_accuracy": 1.0} for s in (20, 40)])
    bars = ClassBars()
    bars.set_series({"train": {k: 40 for k in LABELS}, "validation": {k: 10 for k in LABELS}})
    for widget, stretch in ((results, 3), (curves, 2), (bars, 1)):
        box.addWidget(widget, stretch)
    page.show()
    yield SimpleNamespace(page=page, results=results, curves=curves, bars=bars)
    page.close()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_runs_results_curves_and_charts_are_readable(qtbot, window, views, case):
    theme, (width, height) = case
    window.set_theme(theme)
    window.resize(width, height)
    views.page.resize(width, height)
    settle(qtbot)
    screenshot(window, f"finetune-runs-{case_id(case)}")
    screenshot(views.page, f"finetune-results-{case_id(case)}")
    assert_not_clipped(window)
    assert "No runs yet" in window.panels["Fine-tune"].message.text()
    heat = views.results.heatmap
    assert heat.colorbar.isVisible() and "% of the true class" in heat.colorbar.getAxis("left").labelText
    assert_plot_readable(heat)
    for text, (r, c) in zip(heat._texts, [(r, c) for r in range(3) for c in range(3)], strict=True):
        cell = heat._lut[min(255, int(heat.matrix[r, c] / heat.matrix[r].sum() * 255))]
        assert contrast(text.color.name(), "#{:02x}{:02x}{:02x}".format(*cell)) >= 3.0, (r, c)
    for widget in (views.curves.loss_plot, views.curves.eval_plot, views.bars):
        assert_plot_readable(widget)
    for plot in (views.curves.loss_plot, views.curves.eval_plot):  # the legend is beside the data, not on it
        assert not plot.legend.sceneBoundingRect().intersects(plot.plot.vb.sceneBoundingRect())
        for _sample, label in plot.legend.items:  # its text is drawn in the theme's foreground
            assert f"color:{colours().foreground}" in label.item.toHtml()


def test_smoothed_loss_follows_a_falling_loss(views):
    xs, raw = views.curves.points("loss")
    _, smooth = views.curves.points("loss_smooth")
    assert len(smooth) == len(raw) == 40
    # a centred average: never far above the raw loss where the loss falls steadily (an EMA lags above it)
    assert all(s - r < 0.05 for s, r in zip(smooth[5:], raw[5:], strict=True))
