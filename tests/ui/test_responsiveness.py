"""What keeps the window responsive while the engine works (the stall figures are in
benchmarks/bench_wizard_gui.py; here the mechanisms are checked, never timings of the machine)."""

from __future__ import annotations

import os
import sys

import pyqtgraph as pg
from PySide6.QtGui import QPainter

from lmstudio_app.ui.app import GUI_SWITCH_INTERVAL_S, make_application
from lmstudio_app.ui.plot_theme import show_grid
from lmstudio_app.ui.widgets.loss_curves import LossCurves


def test_the_gui_process_gets_the_gil_back_quickly_and_paints_on_its_own_thread(qtbot) -> None:
    make_application()
    assert sys.getswitchinterval() == GUI_SWITCH_INTERVAL_S < 0.005  # Python's default is 5 ms
    assert os.environ["QT_NO_GUI_THREADPOOL"] == "1"


def _grid_lines(plot: pg.PlotItem) -> int:
    axis = plot.getAxis("left")
    painter = QPainter()
    _axis, ticks, _texts = axis.generateDrawSpecs(painter)
    return len(ticks)


def test_plot_grids_leave_out_the_faintest_tick_level(qtbot) -> None:
    """pyqtgraph's third tick level draws lines too faint to see and made each repaint ~6x slower."""
    plain, ours = pg.PlotWidget(), pg.PlotWidget()
    for widget in (plain, ours):
        qtbot.addWidget(widget)
        widget.resize(490, 400)
        widget.setYRange(0, 1, padding=0)
        widget.show()
    plain.getPlotItem().showGrid(x=True, y=True, alpha=0.2)
    show_grid(ours.getPlotItem(), x=True, y=True)
    qtbot.waitExposed(ours)
    assert ours.getPlotItem().getAxis("left").grid == plain.getPlotItem().getAxis("left").grid > 0
    assert 0 < _grid_lines(ours.getPlotItem()) < _grid_lines(plain.getPlotItem())
    assert ours.getPlotItem().getAxis("bottom").style["maxTickLevel"] == 1


def test_a_new_run_has_its_curves_in_place_before_the_first_event(qtbot) -> None:
    """The first log and eval events only add points: no legend entry appears mid-start (a re-layout)."""
    curves = LossCurves()
    qtbot.addWidget(curves)
    curves.start_run()
    legends = {
        name: list(plot.legend.items)
        for name, plot in (("loss", curves.loss_plot), ("eval", curves.eval_plot))
    }
    assert [label.text for _s, label in legends["loss"]] == ["loss (smoothed)"]
    assert [label.text for _s, label in legends["eval"]] == ["eval loss", "accuracy", "macro-F1"]
    curves.add_events(
        [{"type": "log", "step": 1, "loss": 0.7}, {"type": "eval", "step": 1, "eval_accuracy": 0.5}]
    )
    assert (
        curves.loss_plot.legend.items == legends["loss"] and curves.eval_plot.legend.items == legends["eval"]
    )
    assert curves.points("loss") == ([1.0], [0.7]) and curves.points("eval_accuracy") == ([1.0], [0.5])


def test_opening_a_wizard_builds_none_of_its_plots_until_their_page_shows(qtbot, monkeypatch) -> None:
    """A pyqtgraph plot costs ~7 ms: the wizards built five up front and froze the window ~50 ms opening."""
    from lmstudio_app.ui.app_state import AppState
    from lmstudio_app.ui.finetune.wizard.wizard import FineTuneWizard
    from lmstudio_app.ui.pretrain.wizard import PretrainWizard

    built: list[object] = []
    real_init = pg.PlotItem.__init__

    def counting_init(self, *args, **kwargs):
        built.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(pg.PlotItem, "__init__", counting_init)
    for make in (FineTuneWizard, PretrainWizard):
        wizard = make(AppState())
        qtbot.addWidget(wizard)
        wizard.show()
        qtbot.waitExposed(wizard)
        assert built == [], f"{make.__name__} built {len(built)} plots for pages not shown"
    finetune = FineTuneWizard(AppState())
    qtbot.addWidget(finetune)
    curves = finetune.train_page.view.curves  # asked for (e.g. to draw a resumed run): built then, once
    assert len(built) == 2 and finetune.train_page.view.curves is curves


def test_the_start_up_imports_leave_nothing_for_the_training_settings_to_import(tmp_path) -> None:
    """Behind the splash the app imports what the wizard's Settings page would import on a worker thread
    (where C-extension imports hold the GIL and froze the window 190 ms); checked in a fresh process."""
    import subprocess

    script = """
import sys
from lmstudio_app.ui.app import make_application
from lmstudio_app.ui.startup import preload_stack
from lmstudio_app.ui.finetune.wizard.settings_page import _devices_job
app = make_application()
assert "torch" not in sys.modules, "torch was imported before the splash"
preload_stack(app, "minilm-mlm").close()
before = set(sys.modules)
_devices_job("minilm-mlm", state=None)
heavy = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("torch", "transformers", "sklearn", "scipy", "accelerate"))
print("NEW:", heavy)
"""
    env = {**os.environ, "LMSTUDIO_HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "NEW: []" in result.stdout, result.stdout


def test_a_deferred_plot_is_built_after_its_page_has_painted(qtbot) -> None:
    """Shown, the placeholder paints first and builds its plot on a later turn of the event loop (one click
    on the wizard's Next then stalls for the page's paint, not for paint plus plot); asked for, it is built
    at once."""
    from PySide6.QtWidgets import QWidget

    from lmstudio_app.ui.widgets.deferred import BUILD_DELAY_MS, Deferred

    made: list[QWidget] = []
    holder = Deferred(lambda: made.append(QWidget()) or made[-1])
    qtbot.addWidget(holder)
    holder.show()
    assert made == []  # not during the show: the page paints first
    qtbot.waitUntil(lambda: len(made) == 1, timeout=BUILD_DELAY_MS + 2000)
    assert holder.widget is made[0] and len(made) == 1
    eager = Deferred(lambda: made.append(QWidget()) or made[-1])
    qtbot.addWidget(eager)
    assert eager.widget is made[-1] and eager.built  # asked for before any show: built then
