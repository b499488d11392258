"""The Explain tab: why a loaded model said what it said (attribution) and where it puts a table's rows (map).

Other panels reach it through `hooks.open_explain` with an `ExplainRequest`; a request naming a model
folder (a fine-tuned run) loads that folder in the background first, so the window never waits.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QTimer, Signal
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.explain.attribution_tab import AttributionTab
from lmstudio_app.ui.explain.hooks import ExplainRequest, MapRequest
from lmstudio_app.ui.explain.jobs import load_folder, load_pair
from lmstudio_app.ui.explain.map_tab import MapTab
from lmstudio_app.ui.panel import PanelBase
from lmstudio_app.ui.qthreading import Worker


class ExplainPanel(PanelBase, QWidget):
    """Attribution and Dataset map tabs over the app's loaded models."""

    title = "Explain"
    request_done = Signal()  # a request from another panel has been filled in (and started)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.attribution = AttributionTab(state)
        self.map = MapTab(state)
        self.map.explain_in_tab.connect(self._explain_row)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.attribution, "Attribution")
        self.tabs.addTab(self.map, "Dataset map")
        self.status = QLabel(wordWrap=True)
        self.workers: list[Worker] = []
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)

    def explain_request(self, request: ExplainRequest) -> None:
        """Fill the Attribution tab from another panel's request and run it (loading a folder if needed)."""
        self.tabs.setCurrentWidget(self.attribution)
        if request.model_key is None and request.model_path is not None:
            self.status.setText(f"Loading {request.model_name or request.model_path.name}…")
            worker = Worker(load_folder, self.state.registry, request.model_path, request.model_name)
            worker.result.connect(lambda loaded: self._loaded(loaded, request))
            worker.error.connect(lambda message, _d: self.status.setText(message))
            worker.finished.connect(lambda: self.workers.remove(worker) if worker in self.workers else None)
            self.workers.append(worker)
            worker.start()
            return
        self._fill(request, request.model_key)

    def map_request(self, request: MapRequest) -> Worker:
        """Load the fine-tuned and the base model, then map the table with both, side by side."""
        self.tabs.setCurrentWidget(self.map)
        self.status.setText(f"Loading {request.after_name} and its base model {request.before_spec}…")
        worker = Worker(
            load_pair, self.state.registry, request.after_path, request.after_name, request.before_spec
        )
        worker.result.connect(lambda pair: self._pair_loaded(pair, request))
        worker.error.connect(lambda message, _d: self.status.setText(message))
        worker.finished.connect(lambda: self.workers.remove(worker) if worker in self.workers else None)
        self.workers.append(worker)
        return worker.start()

    def _pair_loaded(self, pair: tuple, request: MapRequest) -> None:
        after, before = pair
        for loaded in pair:
            self.state.add_loaded(loaded)
        self.status.setText("")
        self.map.select_models(after.key, before.key)
        reading = self.map.open_table(request.table, request.text_column, request.label_column)
        reading.result.connect(lambda _table: self.map.compute())  # after the tab has taken the table

    def _loaded(self, loaded: object, request: ExplainRequest) -> None:
        self.state.add_loaded(loaded)  # type: ignore[arg-type]
        self.status.setText("")
        self._fill(request, loaded.key)  # type: ignore[attr-defined]

    def _fill(self, request: ExplainRequest, key: str | None) -> None:
        tab = self.attribution
        if key:
            tab.select_model(key)
        tab.editor.setPlainText(request.text)
        tab.set_label(request.label)
        tab.candidate_edit.setText(request.candidate or "")
        tab.versus_edit.setText(request.versus or "")
        tab.run()
        self.request_done.emit()

    def _explain_row(self, key: str, text: str) -> None:
        self._fill(ExplainRequest(text=text, model_key=key), key)
        self.tabs.setCurrentWidget(self.attribution)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt's name)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            # The theme's dark flag is set just after the palette; `self` as context: none if closed by then.
            QTimer.singleShot(0, self, self._restyle)
        super().changeEvent(event)

    def _restyle(self) -> None:
        self.attribution.redraw()
        self.map.restyle()

    def shutdown(self) -> None:
        self.attribution.cancel()
        self.map.shutdown()
