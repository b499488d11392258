"""A 1024x700 screen: every tab and wizard fits it, and a remembered or default geometry is kept inside the
screen. A long model folder name and a long recent path are loaded first: combos sized to their longest
item were what pushed the window past the screen's right edge."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from PySide6.QtCore import QMargins, QRect, QSize
from PySide6.QtWidgets import QMainWindow
from visual import assert_not_clipped, screenshot, settle

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.main_window import PANELS, MainWindow
from lmstudio_app.ui.sizing import FRAME, clamp_rect

SCREEN = QRect(0, 0, 1024, 700)
USABLE = SCREEN.marginsRemoved(FRAME).size()  # the client area inside a window manager's frame
TITLES = [panel.title for panel in PANELS]
LONG_RECENT = "/home/someone/projects/clients/acme/models/bert-base-multilingual-cased-finetuned-sentiment-v3"


def fits(size: QSize) -> bool:
    return size.width() <= USABLE.width() and size.height() <= USABLE.height()


@pytest.fixture(scope="module")
def window(qapp, tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("small") / "a-classifier-fine-tuned-on-customer-support-tickets-2024"
    shutil.copytree(tiny_model("mlm"), folder)
    state = AppState()
    recent = state.settings.value("models/recent", [])
    state.settings.setValue("models/recent", [LONG_RECENT])
    win = MainWindow(state)
    state.add_loaded(state.registry.load(str(folder)))
    win.show()
    yield win
    win.close()
    state.settings.setValue("models/recent", recent)
    win.set_theme("system")


@pytest.mark.parametrize("title", TITLES)
def test_each_tab_fits_a_1024x700_screen(qtbot, window, title):
    window.tabs.setCurrentWidget(window.panels[title])
    settle(qtbot)
    assert fits(window.minimumSizeHint()), (title, window.minimumSizeHint())
    window.adjustSize()
    assert fits(window.layout().minimumSize()), (title, window.layout().minimumSize())
    for theme in ("light", "dark"):
        window.set_theme(theme)
        window.resize(USABLE)
        settle(qtbot)
        assert window.size() == USABLE  # no minimum holds the window wider or taller than the screen
        screenshot(window, f"small-screen-{title.lower().replace(' ', '-')}-{theme}")
        assert_not_clipped(window)


@pytest.mark.parametrize("kind", ["new_fine_tune", "new_pretraining"])
def test_wizards_open_within_the_screen_and_each_page_fits(qtbot, window, kind):
    wizard = getattr(window.panels["Fine-tune"], kind)()
    try:
        room = wizard.screen().availableGeometry().marginsRemoved(FRAME).size()
        assert wizard.size().boundedTo(room) == wizard.size(), (wizard.size(), room)  # placed by Qt or the WM
        for page_id in wizard.pageIds():
            page = wizard.page(page_id)
            assert fits(page.minimumSizeHint()), (type(page).__name__, page.minimumSizeHint())
    finally:
        wizard.hide()


def test_clamp_keeps_a_huge_far_away_rect_on_a_1024x700_screen():
    assert FRAME.top() >= 30  # room for a title bar above the client area
    assert clamp_rect(QRect(2500, 1500, 3000, 2000), SCREEN) == QRect(4, 30, 1016, 666)
    assert clamp_rect(QRect(-200, -50, 800, 600), SCREEN) == QRect(4, 30, 800, 600)
    assert clamp_rect(QRect(600, 400, 800, 600), SCREEN) == QRect(220, 96, 800, 600)
    assert clamp_rect(QRect(100, 80, 640, 480), SCREEN) == QRect(100, 80, 640, 480)  # already inside
    beside = QRect(1024, 0, 1280, 1024)  # a second screen's available area to the right
    assert clamp_rect(QRect(3000, 900, 3000, 2000), beside) == QRect(1028, 30, 1272, 990)
    assert clamp_rect(QRect(0, 0, 3000, 2000), SCREEN, QMargins()) == SCREEN


def _inside_with_title_bar(window: QMainWindow) -> bool:
    return window.screen().availableGeometry().marginsRemoved(FRAME).contains(window.geometry())


def test_saved_geometry_larger_than_the_screen_is_restored_inside_it(qtbot):
    saved = QMainWindow()
    saved.setGeometry(2500, 1500, 3000, 2000)
    state = AppState()
    state.settings.setValue("window/geometry", saved.saveGeometry())
    window = MainWindow(state)
    qtbot.addWidget(window)
    state.settings.remove("window/geometry")
    assert _inside_with_title_bar(window), (window.geometry(), window.screen().availableGeometry())


# The same in a process whose (offscreen) screen is 1024x700, through the shown window.
SHOWN_ON_SMALL_SCREEN = """
import json
from PySide6.QtWidgets import QMainWindow
from lmstudio_app.ui.app import make_application
from lmstudio_app.ui.main_window import MainWindow
app = make_application(["t"])
saved = QMainWindow()
saved.setGeometry(2500, 1500, 3000, 2000)
window = MainWindow()
window.state.settings.setValue("window/geometry", saved.saveGeometry())
window.state.settings.sync()
window = MainWindow()
window.show()
for _ in range(20):
    app.processEvents()
rect = lambda r: [r.x(), r.y(), r.width(), r.height()]
print(json.dumps({"window": rect(window.geometry()), "available": rect(window.screen().availableGeometry())}))
"""


def test_restored_window_is_shown_inside_a_1024x700_screen(tmp_path):
    config = tmp_path / "screen.json"
    screen = {"name": "small", "x": 0, "y": 0, "width": 1024, "height": 700, "logicalDpi": 96}
    config.write_text(json.dumps({"screens": [{**screen, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "LMSTUDIO_HOME": str(tmp_path / "home"),
    }
    done = subprocess.run(
        [sys.executable, "-c", SHOWN_ON_SMALL_SCREEN], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown["available"] == [0, 0, 1024, 700]
    x, y, width, height = shown["window"]
    assert x >= 0 and y >= FRAME.top() and x + width <= 1024 and y + height <= 700, shown


def test_first_start_size_fits_the_screen(qtbot):
    state = AppState()
    state.settings.remove("window/geometry")
    window = MainWindow(state)
    qtbot.addWidget(window)
    room = window.screen().availableGeometry().marginsRemoved(FRAME).size()
    assert window.size().boundedTo(room) == window.size(), (window.size(), room)
