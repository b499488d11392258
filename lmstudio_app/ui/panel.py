"""The Panel protocol: what the main window needs from a tab, instead of names and getattr.

A panel is a QWidget built with (AppState, parent). It names its tab, refreshes when the loaded models
change (it connects `state.models_changed` itself, so it can also refresh lazily), may refuse to close
(a training run that would be lost) and shuts down its background work when the window closes.
`PanelBase` gives the defaults, so a panel writes only what it needs.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Panel(Protocol):
    title: str  # the tab's title; the main window gives the n-th tab Ctrl+n

    def may_close(self) -> bool:
        """False keeps the window open (the panel has asked the user and was told no)."""

    def shutdown(self) -> None:
        """Stop background work; called once, after every panel agreed to close."""


class PanelBase:
    """Defaults for the Panel protocol (mix in before QWidget)."""

    title = ""

    def may_close(self) -> bool:
        return True

    def shutdown(self) -> None:
        return None
