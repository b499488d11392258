"""`lmstudio-app gui`: the desktop app; `--smoke-test` opens it, loads the default model, paints, exits."""

from __future__ import annotations

import argparse
import sys
import time

NAME = "gui"
HELP = "open the desktop app (the default when no command is given)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", help="load this model at start (folder, hub id or embedded name)")
    parser.add_argument(
        "--smoke-test",
        dest="gui_smoke_test",
        action="store_true",
        help="open, load, paint once, print, exit 0",
    )


def _since_start() -> float:
    import psutil

    return time.time() - psutil.Process().create_time()


def run(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer

    from lmstudio_app.ui.app import make_application
    from lmstudio_app.ui.crash import CrashReporter
    from lmstudio_app.ui.main_window import MainWindow
    from lmstudio_app.ui.models.panel import default_model_name
    from lmstudio_app.ui.startup import preload_stack

    smoke = bool(getattr(args, "smoke_test", False) or args.gui_smoke_test)
    app = make_application()
    reporter = CrashReporter(app)
    reporter.install()
    spec = args.model or default_model_name()
    splash_shown = _since_start()
    splash = preload_stack(app, spec)
    window = MainWindow()
    painted: dict[str, float] = {}

    class PaintProbe(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.Paint and "t" not in painted:
                painted["t"] = _since_start()
            return False

    probe = PaintProbe()
    window.installEventFilter(probe)
    window.show()
    splash.finish(window)
    loaded: dict[str, float | str] = {}

    def start_loading() -> None:
        loaded["started"] = time.perf_counter()
        window.model_panel.load(spec)

    window.model_panel.load_finished.connect(
        lambda key: loaded.update(key=key, s=time.perf_counter() - float(loaded["started"]))
    )
    # Start loading once the window is up so that it paints first (the imports were done behind the splash).
    QTimer.singleShot(100, start_loading)
    if not smoke:
        return app.exec()

    loop = QEventLoop()
    window.model_panel.load_finished.connect(loop.quit)
    QTimer.singleShot(600_000, loop.quit)
    if "key" not in loaded:
        loop.exec()
    deadline = time.monotonic() + 10
    while "t" not in painted and time.monotonic() < deadline:
        window.repaint()
        app.processEvents()
    if not loaded.get("key"):
        print(f"smoke-test failed: {spec} did not load: {window.model_panel.status.text()}", file=sys.stderr)
        return 1
    if "t" not in painted:
        print("smoke-test failed: the window never painted", file=sys.stderr)
        return 1
    print(
        f"smoke-test ok: window painted {painted['t']:.2f} s after start (splash at {splash_shown:.2f} s); "
        f"{loaded['key']} loaded in "
        f"{loaded['s']:.1f} s; panels: {', '.join(window.panels)}"
    )
    window.close()
    return 0
