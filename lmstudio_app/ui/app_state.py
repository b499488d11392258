"""What the panels share: the model registry, settings, and a signal when the loaded models change."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal

from lmstudio_app.core.models.registry import LoadedModel, ModelRegistry


class AppState(QObject):
    """Shared by every panel; the registry is the Qt-free core one, wrapped with change signals."""

    models_changed = Signal()
    model_loaded = Signal(str)  # key
    status_message = Signal(str)

    def __init__(self, registry: ModelRegistry | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.registry = registry or ModelRegistry()
        self.settings = QSettings()

    def add_loaded(self, loaded: LoadedModel) -> None:
        """Call on the GUI thread once a worker has loaded a model into the registry."""
        self.models_changed.emit()
        self.model_loaded.emit(loaded.key)

    def unload(self, key: str) -> None:
        self.registry.unload(key)
        self.models_changed.emit()

    def models_with(self, head: str) -> list[LoadedModel]:
        return self.registry.with_head(head)

    def remember_recent(self, spec: str, limit: int = 10) -> None:
        recent = [s for s in self.recent_models() if s != spec]
        self.settings.setValue("models/recent", [spec, *recent][:limit])

    def recent_models(self) -> list[str]:
        value = self.settings.value("models/recent", [])
        if isinstance(value, str):  # QSettings returns a bare string for a one-item list
            value = [value]
        return [str(v) for v in value or []]
