"""The Explain panel driven like a user: explain a classifier and a masked-LM, map a table, themes, hooks."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from explain_helpers import KEYWORDS, keyword_rows, train_keyword_classifier
from PySide6.QtCore import Qt

from lmstudio_app.core.explain.attribution import Explanation
from lmstudio_app.core.explain.embed_map import DatasetMap, separation
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.explain.hooks import ExplainRequest, open_explain
from lmstudio_app.ui.explain.map_plot import MapPlot
from lmstudio_app.ui.explain.panel import ExplainPanel
from lmstudio_app.ui.theme import apply_theme

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="module")
def models(tiny_model, tmp_path_factory) -> dict[str, Path]:
    base = tiny_model("classifier")
    tuned = train_keyword_classifier(base, tmp_path_factory.mktemp("keyword") / "tuned")
    return {"base": base, "tuned": tuned, "mlm": tiny_model("mlm")}


@pytest.fixture(scope="module")
def app_state(models, qapp) -> AppState:
    state = AppState()
    for name in ("tuned", "base", "mlm"):
        state.registry.load(str(models[name]))
    return state


def _key(state: AppState, path: Path) -> str:
    return next(m.key for m in state.registry.models() if m.path == path)


@pytest.fixture
def panel(qtbot, app_state):
    widget = ExplainPanel(app_state)
    qtbot.addWidget(widget)
    widget.resize(1400, 860)
    widget.show()
    yield widget
    widget.shutdown()
    apply_theme("light")


def _explain(qtbot, panel: ExplainPanel, text: str) -> dict:
    tab = panel.attribution
    tab.editor.setPlainText(text)
    with qtbot.waitSignal(tab.explained, timeout=60000):
        qtbot.keyClick(tab.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    return tab.results


def _shot(widget, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert widget.grab().save(str(path))
    return path


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_classifier_three_methods_side_by_side(qtbot, panel, app_state, models, theme):
    apply_theme(theme)
    tab = panel.attribution
    tab.select_model(_key(app_state, models["tuned"]))
    assert tab.class_combo.isVisible() and not tab.candidate_edit.isVisible()
    assert [tab.class_combo.itemText(i) for i in range(3)] == ["predicted class", "negative", "positive"]
    results = _explain(qtbot, panel, "the dog sat on a terrible old chair")
    assert set(results) == {"ig", "gradxinput", "rollout"}
    assert all(isinstance(r, Explanation) for r in results.values())
    ig = results["ig"]
    assert ig.predicted_label == "negative" and ig.target == "negative"
    assert ig.words.words[int(np.argmax(ig.words.scores))] == "terrible"
    assert "negative" in tab.summary.text()
    view = tab.views["ig"]
    assert view.bars.labels == ig.words.words  # every word has its labelled bar
    assert "convergence delta" in view.info.text()
    for method in ("ig", "gradxinput"):  # which layer the gradient methods attribute to
        assert "Layer: bert.embeddings output (after LayerNorm)." in tab.views[method].info.text()
        assert "positive score pushes towards negative" in tab.views[method].info.toolTip()
    assert "terrible" in view.text.text() and "background-color" in view.text.text()
    assert "towards negative" in view.legend.toolTip()
    tab.unit_combo.setCurrentIndex(1)  # tokens: [CLS] and [SEP] appear
    assert view.bars.labels[0] == "[CLS]"
    tab.unit_combo.setCurrentIndex(0)
    qtbot.wait(50)
    _shot(panel, f"explain_attribution_{theme}")


def test_other_class_and_few_steps_warn(qtbot, panel, app_state, models):
    tab = panel.attribution
    tab.select_model(_key(app_state, models["tuned"]))
    tab.set_label("positive")
    tab.steps_spin.setValue(2)
    results = _explain(qtbot, panel, "a great red car")
    ig = results["ig"]
    assert ig.target == "positive" and ig.predicted_label == "positive"
    total = float(np.sum(ig.token_scores))
    assert abs(total - (ig.output - ig.baseline_output)) <= abs(ig.delta) + 1e-4
    if ig.delta_is_large:  # 2 steps is usually too few: the view says so and suggests more
        assert tab.views["ig"].warning.isVisibleTo(panel)
        assert "more steps" in tab.views["ig"].warning.text()


def test_masked_lm_candidate_versus(qtbot, panel, app_state, models):
    tab = panel.attribution
    tab.select_model(_key(app_state, models["mlm"]))
    assert tab.candidate_edit.isVisibleTo(panel) and not tab.class_combo.isVisibleTo(panel)
    tab.candidate_edit.setText("mat")
    tab.versus_edit.setText("floor")
    results = _explain(qtbot, panel, "the cat sat on the [MASK]")
    assert results["ig"].target == "mat vs floor" and results["ig"].kind == "candidate"
    tab.editor.setPlainText("no mask here")
    with qtbot.waitSignal(tab.failed, timeout=30000) as blocker:
        tab.run()
    assert "no mask" in blocker.args[0]
    assert "no mask" in tab.summary.text()


def test_dataset_map_before_after(qtbot, panel, app_state, models, tmp_path):
    rows = keyword_rows(120, 7)
    csv = tmp_path / "rows.csv"
    csv.write_text("text,label\n" + "\n".join(f"{t},{lab}" for t, lab, _ in rows) + "\n", encoding="utf-8")
    tab = panel.map
    panel.tabs.setCurrentWidget(tab)
    worker = tab.open_table(csv)
    qtbot.waitUntil(lambda: tab.table is not None, timeout=20000)
    assert worker.done or tab.table is not None
    assert tab.text_combo.currentText() == "text" and tab.label_combo.currentText() == "label"
    tab.select_models(_key(app_state, models["tuned"]), _key(app_state, models["base"]))
    with qtbot.waitSignal(tab.map_shown, timeout=60000):
        tab.compute()
    before, after = tab.plots[0].result, tab.plots[1].result
    assert tab.plots[0].isVisible() and len(after.texts) == 120
    assert separation(after.xy, after.labels) > separation(before.xy, before.labels)
    assert "silhouette" in tab.scores[1].text()
    keys = [tab.colour_combo.itemData(i) for i in range(tab.colour_combo.count())]
    assert keys == ["label", "predicted", "correct"]
    tab.colour_combo.setCurrentIndex(2)
    assert tab.plots[1].categories == ["correct", "wrong"]
    tab.colour_combo.setCurrentIndex(0)
    assert "label: " in tab.plots[1]._tip(0, 0, 3)  # hover text
    with qtbot.waitSignal(tab.row_explained, timeout=30000):
        tab.plots[1].clicked.emit(3)
    keyword = rows[3][2]
    assert "Integrated Gradients" in tab.detail.text() and keyword in tab.detail.text()
    tab.plots[1].select(3)
    qtbot.wait(50)  # let the detail label's new height reach the layout
    _shot(panel, "explain_map_light")
    apply_theme("dark")
    qtbot.wait(50)
    _shot(panel, "explain_map_dark")
    with qtbot.waitSignal(panel.attribution.explained, timeout=60000):
        tab.detail_button.click()
    assert panel.tabs.currentWidget() is panel.attribution
    assert panel.attribution.editor.toPlainText() == rows[3][0]


def test_map_plot_stays_interactive_with_10000_points(qtbot):
    rng = np.random.default_rng(0)
    n = 10_000
    result = DatasetMap(
        model="m",
        method="pca",
        pooling="cls",
        xy=rng.normal(size=(n, 2)).astype(np.float32),
        texts=[f"row {i}" for i in range(n)],
        labels=[str(i % 4) for i in range(n)],
    )
    plot = MapPlot()
    qtbot.addWidget(plot)
    plot.resize(800, 600)
    plot.show()
    start = time.perf_counter()
    plot.set_map(result)
    plot.repaint()
    first = time.perf_counter() - start
    start = time.perf_counter()
    plot.set_colouring("label")
    plot.getPlotItem().getViewBox().scaleBy((0.5, 0.5))
    plot.repaint()
    again = time.perf_counter() - start
    assert len(plot.scatter.data) == n
    assert first < 2.0 and again < 1.0, (first, again)
    assert plot._tip(0, 0, 42).startswith("row 42")


def test_request_from_another_panel_loads_the_folder(qtbot, app_state, models):
    """A fine-tune result's "Explain" sends a model folder; outside the main window a standalone panel opens."""
    from PySide6.QtWidgets import QWidget

    source = QWidget()
    qtbot.addWidget(source)
    text = "my old blue great book"
    request = ExplainRequest(text=text, model_path=models["tuned"], model_name="keyword run")
    opened = open_explain(source, request, app_state)
    with qtbot.waitSignal(opened.attribution.explained, timeout=60000):
        pass
    assert opened.isWindow() and opened.attribution.editor.toPlainText() == text
    ig = opened.attribution.results["ig"]
    assert ig.predicted_label == KEYWORDS["great"]
    assert ig.words.words[int(np.argmax(ig.words.scores))] == "great"
    opened.close()


def test_masked_words_candidate_opens_the_explain_tab(qtbot, app_state, models):
    """Right-click a candidate in the masked-words panel -> the Explain tab explains that word."""
    from PySide6.QtWidgets import QTabWidget

    from lmstudio_app.ui.fillmask.panel import FillMaskPanel

    window = QTabWidget()
    window.tabs = window
    fill, explain_panel = FillMaskPanel(app_state), ExplainPanel(app_state)
    window.panels = {"Masked words": fill, "Explain": explain_panel}
    window.addTab(fill, "Masked words")
    window.addTab(explain_panel, "Explain")
    qtbot.addWidget(window)
    window.show()
    fill.model_combo.setCurrentIndex(fill.model_combo.findData(_key(app_state, models["mlm"])))
    with qtbot.waitSignal(fill.predictions_shown, timeout=30000):
        fill.editor.setPlainText("the cat sat on the [MASK]")
    mask_view = fill.views[0].mask_views[0]
    word = mask_view.words[1]
    with qtbot.waitSignal(explain_panel.attribution.explained, timeout=60000):
        mask_view.explain.emit(0, word)  # what the row's "Explain this candidate…" action sends
    assert window.currentWidget() is explain_panel
    assert explain_panel.attribution.results["ig"].target == word
    assert explain_panel.attribution.candidate_edit.text() == word
    explain_panel.shutdown()
    fill.shutdown()


def test_fine_tune_results_explain_button(qtbot, app_state, models, tmp_path):
    """The results page's "Explain…" beside the try-it box and the misclassified rows' double-click."""
    from types import SimpleNamespace

    from lmstudio_app.ui.explain import hooks
    from lmstudio_app.ui.finetune.results_view import ResultsView

    view = ResultsView(app_state)
    qtbot.addWidget(view)
    view.result = SimpleNamespace(
        model_dir=models["tuned"],
        run_dir=tmp_path,
        misclassified=[{"text": "a terrible cup", "true": "positive"}],
    )
    view.try_edit.blockSignals(True)
    view.try_edit.setText("the great sea")
    view.explain_button.click()
    opened = hooks._standalone[-1]
    with qtbot.waitSignal(opened.attribution.explained, timeout=60000):
        pass
    assert opened.attribution.editor.toPlainText() == "the great sea"
    assert opened.attribution.results["ig"].predicted_label == "positive"
    opened.close()
    view.explain("a terrible cup")
    opened = hooks._standalone[-1]
    qtbot.waitUntil(lambda: opened.attribution.editor.toPlainText() == "a terrible cup", timeout=60000)
    with qtbot.waitSignal(opened.attribution.explained, timeout=60000):
        pass
    opened.close()


def test_fine_tune_results_map_base_beside_fine_tuned(qtbot, app_state, models, tmp_path):
    """ "Dataset map (before/after)…" on a run's results maps its data with the base and the fine-tuned model."""
    from types import SimpleNamespace

    from lmstudio_app.core.data.labeled import DataSource
    from lmstudio_app.core.finetune.datasets import DataPlan
    from lmstudio_app.core.training.record import SavedSettings
    from lmstudio_app.ui.finetune.results_view import ResultsView

    rows = keyword_rows(60, 3)
    csv = tmp_path / "run-data.csv"
    csv.write_text("review,mood\n" + "\n".join(f"{t},{lab}" for t, lab, _ in rows) + "\n", encoding="utf-8")
    view = ResultsView(app_state)
    qtbot.addWidget(view)
    view.result = SimpleNamespace(model_dir=models["tuned"], run_dir=tmp_path, misclassified=[])
    plan = DataPlan(DataSource(str(csv), text_column="review", label_column="mood"))
    view.saved = SavedSettings(
        name="keywords", settings={"base_model": str(models["base"])}, job={"data_plan": plan.to_dict()}
    )
    opened = view.map_before_after()
    tab = opened.map
    with qtbot.waitSignal(tab.map_shown, timeout=90000):
        pass
    assert opened.tabs.currentWidget() is tab
    assert (tab.text_combo.currentText(), tab.label_combo.currentText()) == ("review", "mood")
    before, after = tab.plots[0].result, tab.plots[1].result
    assert len(before.texts) == len(after.texts) == 60
    assert separation(after.xy, after.labels) > separation(
        before.xy, before.labels
    )  # fine-tuning pulled them apart
    opened.close()
