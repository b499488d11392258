"""The whole user journey in a real X window (Xvfb + Qt's xcb platform), screenshots in tests/artifacts/."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "tests" / "artifacts" / "journey"


@pytest.fixture
def xvfb_display():
    if shutil.which("Xvfb") is None:
        pytest.fail(
            "Xvfb is missing: run the README's test command (bash packaging/dev.sh test), which installs it"
        )
    for number in range(90, 110):
        if not Path(f"/tmp/.X{number}-lock").exists():
            break
    server = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1400x1000x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        assert server.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.1)
    yield f":{number}"
    server.terminate()
    server.wait(10)


def _embedded_masked_lm_present() -> bool:
    from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM, find_embedded

    return find_embedded(DEFAULT_MASKED_LM) is not None


@pytest.mark.slow
@pytest.mark.xvfb
@pytest.mark.skipif(
    not _embedded_masked_lm_present(), reason="the embedded masked-LM weights are not shipped yet"
)
def test_full_journey_in_a_real_window(xvfb_display, tmp_path):
    shutil.rmtree(SHOTS, ignore_errors=True)
    env = {
        **os.environ,
        "DISPLAY": xvfb_display,
        "QT_QPA_PLATFORM": "xcb",
        "HF_HUB_OFFLINE": "1",
        "LMSTUDIO_HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "QTWEBENGINE_DISABLE_SANDBOX": "1",
    }
    result = subprocess.run(
        [sys.executable, str(REPO / "tests" / "e2e" / "journey.py"), str(SHOTS), str(tmp_path / "work")],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    assert "[journey] passed" in result.stdout
    for name in (
        "01_models",
        "02_masked_words",
        "03_attention_grid",
        "04_attention_bertviz",
        "05_wizard_data",
        "06_wizard_settings",
        "07_wizard_training",
        "08_wizard_results",
        "09_saved_model_loaded",
    ):
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000, name
