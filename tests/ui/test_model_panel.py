"""The model manager as a user drives it: load the embedded model, see it listed, unload it."""

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from lmstudio_app.core.models.sources import DEFAULT_ENCODER
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.main_window import MainWindow
from lmstudio_app.ui.models.panel import ModelPanel


@pytest.fixture
def panel(qtbot) -> ModelPanel:
    widget = ModelPanel(AppState())
    qtbot.addWidget(widget)
    widget.show()
    return widget


def _cell(panel: ModelPanel, row: int, column: str) -> str:
    from lmstudio_app.ui.models.panel import COLUMNS

    return panel.table.item(row, COLUMNS.index(column)).text()


def test_load_embedded_model_lists_it_with_memory_then_unload(qtbot, panel: ModelPanel) -> None:
    assert panel.source_combo.findText(DEFAULT_ENCODER) >= 0
    panel.source_combo.setCurrentText(DEFAULT_ENCODER)
    assert "all-MiniLM-L6-v2" in panel.description.text()
    with qtbot.waitSignal(panel.load_finished, timeout=120_000) as blocker:
        qtbot.mouseClick(panel.load_button, Qt.MouseButton.LeftButton)
        assert not panel.load_button.isEnabled() and panel.cancel_button.isEnabled()
    assert blocker.args[0].startswith(DEFAULT_ENCODER)
    assert panel.table.rowCount() == 1
    assert _cell(panel, 0, "Architecture") == "BertModel"
    assert _cell(panel, 0, "Parameters") == "22.7 M"
    assert _cell(panel, 0, "Memory") == "86.7 MB"
    assert _cell(panel, 0, "Heads") == "encoder" and _cell(panel, 0, "Family") == "encoder"
    assert "Loaded" in panel.status.text() and panel.load_button.isEnabled()
    assert DEFAULT_ENCODER in panel.state.recent_models()

    panel.table.selectRow(0)
    qtbot.mouseClick(panel.unload_button, Qt.MouseButton.LeftButton)
    assert panel.table.rowCount() == 0
    assert panel.state.registry.models() == []
    assert "Unloaded" in panel.status.text()


def test_bad_folder_shows_the_message_not_a_traceback(qtbot, panel: ModelPanel, tmp_path: Path) -> None:
    with qtbot.waitSignal(panel.load_finished, timeout=30_000):
        panel.load(str(tmp_path))
    assert "no config.json" in panel.status.text()
    assert panel.table.rowCount() == 0 and panel.load_button.isEnabled()


def test_loading_twice_asks_and_can_load_a_second_copy(
    qtbot, panel: ModelPanel, tiny_model, monkeypatch
) -> None:
    folder = str(tiny_model("pretraining"))
    with qtbot.waitSignal(panel.load_finished, timeout=30_000):
        panel.load(folder)
    asked: list[str] = []
    monkeypatch.setattr(panel, "ask_duplicate", lambda message: asked.append(message) or "copy")
    with qtbot.waitSignal(panel.load_finished, timeout=30_000, check_params_cb=bool):
        panel.load(folder)
    assert "already loaded" in asked[0]
    assert panel.table.rowCount() == 2
    assert _cell(panel, 1, "Heads") == "masked-lm, next-sentence"


def test_devices_are_listed_with_memory(qtbot, panel: ModelPanel) -> None:
    qtbot.waitUntil(lambda: bool(panel.devices), timeout=30_000)
    assert panel.device_combo.itemData(panel.device_combo.count() - 1) == "cpu"
    assert "free of" in panel.device_combo.itemText(panel.device_combo.count() - 1)
    assert [panel.dtype_combo.itemText(i) for i in range(panel.dtype_combo.count())] == [
        "float32",
        "bfloat16",
    ]


def test_hub_search_offline_says_so(qtbot, panel: ModelPanel) -> None:
    panel.search_edit.setText("bert")
    qtbot.mouseClick(panel.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Offline" in panel.search_results.item(0).text(), timeout=10_000)


def test_main_window_status_bar_and_geometry_are_remembered(qtbot, tiny_model) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert "Device: cpu" in window.device_label.text()
    assert "0 models loaded" in window.memory_label.text()
    with qtbot.waitSignal(window.model_panel.load_finished, timeout=30_000):
        window.model_panel.load(str(tiny_model("mlm")))
    assert "1 model loaded" in window.memory_label.text()
    height = max(500, window.minimumSizeHint().height()) + 10
    window.resize(window.minimumSizeHint().width(), height)
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.size().height() == height  # the default would be 800


def test_browsing_to_a_folder_checks_it_at_once(qtbot, panel: ModelPanel, tmp_path: Path, tiny_model) -> None:
    """The last load's error goes; a folder that is not a model says what it lacks, before Load."""
    panel.status.setText("Could not load old-model: something went wrong")
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    assert not panel.browse_to(str(tmp_path))
    assert "no config.json" in panel.status.text() and "old-model" not in panel.status.text()
    assert panel.source_combo.currentText() == str(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    assert not panel.browse_to(str(tmp_path))
    assert "no weights" in panel.status.text()
    assert panel.browse_to(str(tiny_model("mlm")))
    assert "looks like a model folder" in panel.status.text()


def test_a_causal_lm_loads_with_its_family_and_a_memory_estimate_first(
    qtbot, panel: ModelPanel, tiny_decoder
) -> None:
    from lmstudio_app.core.models.devices import format_bytes
    from lmstudio_app.core.models.footprint import estimate_bytes
    from lmstudio_app.ui.models.panel import HUB_TASKS

    folder = tiny_decoder("gpt2")
    assert panel.browse_to(str(folder))
    assert f"Needs about {format_bytes(estimate_bytes(folder, 'float32'))} in float32" in panel.status.text()
    panel.dtype_combo.setCurrentText("bfloat16")
    assert f"about {format_bytes(estimate_bytes(folder, 'bfloat16'))} in bfloat16" in panel.description.text()
    with qtbot.waitSignal(panel.load_finished, timeout=30_000, check_params_cb=bool):
        panel.load(str(folder))
    assert (_cell(panel, 0, "Family"), _cell(panel, 0, "Heads")) == ("causal", "causal-lm")
    assert _cell(panel, 0, "Dtype") == "bfloat16"
    assert {"text-generation", "text2text-generation"} <= set(HUB_TASKS.values())
