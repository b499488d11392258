"""An offline web view, created only when first shown, that lets no request leave the machine.

QtWebEngine starts a Chromium process, which takes a while: the app pays for it only when a user opens
a tab that needs it. The view uses its own off-the-record profile with a request interceptor that
blocks and records every network request (http, https, ws, ftp), so a page that tries to reach a CDN
fails visibly in tests instead of silently working online and breaking offline.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

SET_HTML_LIMIT = 1_900_000  # QWebEnginePage.setHtml goes through a data: URL, capped at 2 MB
NETWORK_SCHEMES = {"http", "https", "ws", "wss", "ftp"}


def _make_interceptor(blocked: list[str]) -> Any:
    from PySide6.QtWebEngineCore import QWebEngineUrlRequestInterceptor

    class BlockNetwork(QWebEngineUrlRequestInterceptor):
        def interceptRequest(self, info: Any) -> None:  # noqa: N802 (Qt's name)
            url = info.requestUrl()
            if url.scheme().lower() in NETWORK_SCHEMES:
                blocked.append(url.toString())
                info.block(True)

    return BlockNetwork()


class OfflineWebView(QWidget):
    """Shows HTML in a QWebEngineView built on first show; `blocked_requests` lists what was stopped."""

    load_finished = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view: Any = None
        self.blocked_requests: list[str] = []
        self._pending: str | None = None
        self._temp: Path | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self.view is None:
            self._create_view()

    def _create_view(self) -> None:
        from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
        from PySide6.QtWebEngineWidgets import QWebEngineView

        self.profile = QWebEngineProfile()  # no storage name: off the record, nothing written to disk
        self._interceptor = _make_interceptor(self.blocked_requests)
        self.profile.setUrlRequestInterceptor(self._interceptor)
        self.view = QWebEngineView(self)
        page = QWebEnginePage(self.profile, self.view)
        self.profile.setParent(page)  # deleted after the page that uses it, as QtWebEngine requires
        self._interceptor.setParent(self.profile)
        self.view.setPage(page)
        self.view.loadFinished.connect(self.load_finished)
        self._layout.addWidget(self.view)
        if self._pending is not None:
            html, self._pending = self._pending, None
            self.set_html(html)

    def set_html(self, html: str) -> None:
        """Show `html` now if the view exists, else as soon as it is first shown."""
        if self.view is None:
            self._pending = html
            return
        self._drop_temp()
        if len(html.encode("utf-8")) < SET_HTML_LIMIT:
            self.view.setHtml(html, QUrl("about:blank"))
        else:  # too big for a data: URL: load it from a private temporary file
            fd, name = tempfile.mkstemp(prefix="lmstudio-attention-", suffix=".html")
            with open(fd, "w", encoding="utf-8") as f:
                f.write(html)
            self._temp = Path(name)
            self.view.load(QUrl.fromLocalFile(name))

    def run_js(self, script: str, callback: Callable[[Any], None]) -> None:
        """Run `script` in the page; `callback` gets its (JSON-like) value on the GUI thread."""
        self.view.page().runJavaScript(script, 0, callback)

    def _drop_temp(self) -> None:
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None

    def shutdown(self) -> None:
        """Free the temporary page file and the browser page before the profile goes."""
        self._drop_temp()
        if self.view is not None:  # view -> page -> profile: deleted in that order, now, not at exit
            import shiboken6

            self._layout.removeWidget(self.view)
            shiboken6.delete(self.view)
            self.view = None
