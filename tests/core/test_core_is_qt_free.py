"""The core must stay usable without Qt: importing every core module pulls in no Qt binding."""

import pkgutil
import subprocess
import sys

import lmstudio_app.core


def test_no_core_module_imports_qt_even_transitively() -> None:
    names = [m.name for m in pkgutil.walk_packages(lmstudio_app.core.__path__, "lmstudio_app.core.")]
    assert "lmstudio_app.core.models.registry" in names
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'PySide6', 'PyQt5', 'PyQt6', 'PySide2', 'pyqtgraph', 'qtpy', 'shiboken6'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core imports Qt: {out.stdout.strip()}"
