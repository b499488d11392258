"""The Bias sub-tab: CrowS-Pairs (a published data set and metric) and template probes (your own words).

Two pages rather than one long one: each needs its whole height at 1024x700 for its tables.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QWidget

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.score.crows_view import CrowsView
from lmstudio_app.ui.score.model_bar import ModelBar
from lmstudio_app.ui.score.template_view import TemplateView


class BiasTab(QTabWidget):
    """CrowS-Pairs and Template probe pages over the Score tab's model."""

    def __init__(self, state: AppState, models: ModelBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        self.crows = CrowsView(models)
        self.template = TemplateView(state, models)
        self.addTab(self.crows, "CrowS-Pairs")
        self.addTab(self.template, "Template probe")

    def shutdown(self) -> None:
        self.crows.shutdown()
        self.template.shutdown()
