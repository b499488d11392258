"""Desktop integration files, and (when LMSTUDIO_BUILD_BUNDLE=1) the PyInstaller bundle itself."""

import configparser
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_install_desktop_entry_points_at_the_app(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    subprocess.run(
        ["bash", str(REPO / "packaging" / "install_desktop.sh")], check=True, env=env, capture_output=True
    )
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(tmp_path / "applications" / "lmstudio-app.desktop")
    section = entry["Desktop Entry"]
    assert section["Exec"] == f"{REPO}/.venv/bin/lmstudio-app %F"
    assert section["Icon"] == "lmstudio-app" and section["StartupWMClass"] == "lmstudio-app"
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "lmstudio-app.svg"
    assert icon.read_text().startswith("<svg")


def test_app_icon_renders(qapp) -> None:
    from lmstudio_app.ui.app import app_icon

    pixmap = app_icon().pixmap(64, 64)
    assert not pixmap.isNull() and pixmap.width() == 64


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("LMSTUDIO_BUILD_BUNDLE") != "1", reason="set LMSTUDIO_BUILD_BUNDLE=1 to build"
)
def test_bundle_builds_and_passes_its_smoke_test() -> None:
    result = subprocess.run(
        ["bash", str(REPO / "packaging" / "build_bundle.sh")], capture_output=True, text=True, timeout=3600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "smoke-test ok" in result.stdout
