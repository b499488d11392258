"""Model manager: pick a source, device and dtype; load in the background; list and unload models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lmstudio_app.core.errors import DuplicateModelError, ModelSourceError
from lmstudio_app.core.models.devices import DeviceInfo, format_bytes, list_devices
from lmstudio_app.core.models.footprint import estimate_bytes
from lmstudio_app.core.models.registry import LoadedModel
from lmstudio_app.core.models.sources import (
    DEFAULT_ENCODER,
    DEFAULT_MASKED_LM,
    cached_models,
    check_folder,
    embedded_models,
    search_hub,
)
from lmstudio_app.core.tasks import TaskState
from lmstudio_app.ui.app_state import AppState
from lmstudio_app.ui.panel import PanelBase
from lmstudio_app.ui.qthreading import Worker
from lmstudio_app.ui.sizing import compact_combo
from lmstudio_app.ui.theme import message_style

COLUMNS = ["Name", "Family", "Architecture", "Parameters", "Memory", "Device", "Dtype", "Heads"]
HUB_TASKS = {
    "fill-mask": "fill-mask",
    "text classification": "text-classification",
    "text generation (causal LM)": "text-generation",
    "text-to-text (encoder-decoder)": "text2text-generation",
    "any task": "",
}


def default_model_name() -> str:
    """The embedded masked-LM when it ships (so every panel works), else the embedded encoder."""
    names = [m.name for m in embedded_models()]
    return DEFAULT_MASKED_LM if DEFAULT_MASKED_LM in names else DEFAULT_ENCODER


def _load_job(
    app: AppState, spec: str, device: str, dtype: str, duplicate: str, trust: bool, *, state: TaskState
) -> LoadedModel | DuplicateModelError:
    try:
        return app.registry.load(
            spec, device, dtype, duplicate=duplicate, trust_remote_code=trust, state=state
        )
    except DuplicateModelError as exc:  # the GUI asks the user, then loads again with their answer
        return exc


class ModelPanel(PanelBase, QWidget):
    """The model manager panel."""

    title = "Models"

    load_finished = Signal(str)  # key of the loaded model, "" when the load failed or was cancelled

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.devices: list[DeviceInfo] = []
        self.worker: Worker | None = None
        self._build()
        self._fill_sources()
        self._restore_choices()
        state.models_changed.connect(self.refresh_table)
        # Listing devices imports torch: do it just after the window has painted, not before.
        self._device_worker = Worker(lambda state: list_devices())
        self._device_worker.result.connect(self._set_devices)
        QTimer.singleShot(300, self, self._device_worker.start)

    # ---- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        source = QGroupBox("Load a model")
        form = QFormLayout(source)
        self.source_combo = compact_combo(QComboBox(editable=True), 28)  # recent folders can be long
        self.source_combo.setToolTip(
            "An embedded model, a local Hugging Face folder, or a hub id (bert-base-uncased)"
        )
        self.source_combo.lineEdit().setPlaceholderText("embedded name, folder or hub id")
        self.source_combo.currentTextChanged.connect(self._describe_source)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.source_combo, 1)
        row.addWidget(browse)
        form.addRow("Model:", row)
        self.description = QLabel(wordWrap=True)
        self.description.setStyleSheet("color: palette(window-text); font-style: italic;")
        form.addRow("", self.description)

        self.search_edit = QLineEdit(placeholderText="search the Hugging Face hub by name")
        self.search_task = QComboBox()
        self.search_task.addItems(list(HUB_TASKS))
        self.search_button = QPushButton("Search hub")
        self.search_button.clicked.connect(self.search)
        self.search_edit.returnPressed.connect(self.search)
        row = QHBoxLayout()
        row.addWidget(self.search_edit, 1)
        row.addWidget(self.search_task)
        row.addWidget(self.search_button)
        form.addRow("Hub:", row)
        self.search_results = QListWidget()
        self.search_results.setMaximumHeight(120)
        self.search_results.hide()
        self.search_results.itemDoubleClicked.connect(
            lambda item: self.source_combo.setCurrentText(item.data(Qt.ItemDataRole.UserRole))
        )
        form.addRow("", self.search_results)

        self.device_combo = compact_combo(QComboBox(), 28)  # a GPU's label names it and its memory
        self.device_combo.addItem("cpu", "cpu")
        self.device_combo.currentIndexChanged.connect(self._device_changed)
        self.dtype_combo = QComboBox()
        self.dtype_combo.addItems(["float32", "bfloat16"])
        self.dtype_combo.currentTextChanged.connect(
            lambda _: self._describe_source(self.source_combo.currentText())
        )
        self.trust_box = QCheckBox("Trust remote code")
        self.trust_box.setToolTip(
            "Some hub models ship Python code; it runs on your machine. Only for authors you trust."
        )
        # One control per row: a row of device, dtype and trust widened the window past small screens.
        form.addRow("Device:", self.device_combo)
        row = QHBoxLayout()
        row.addWidget(self.dtype_combo)
        row.addStretch(1)
        form.addRow("Dtype:", row)
        form.addRow("", self.trust_box)

        self.load_button = QPushButton("Load")
        self.load_button.setShortcut("Ctrl+L")
        self.load_button.setToolTip("Load the model (Ctrl+L)")
        self.load_button.clicked.connect(lambda: self.load(self.source_combo.currentText()))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        row = QHBoxLayout()
        row.addWidget(self.load_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        form.addRow("", row)
        self.status = QLabel(wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("", self.status)

        loaded = QGroupBox("Loaded models")
        box = QVBoxLayout(loaded)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        box.addWidget(self.table)
        self.unload_button = QPushButton("Unload")
        self.unload_button.setShortcut("Ctrl+U")
        self.unload_button.setToolTip("Unload the selected model and free its memory (Ctrl+U)")
        self.unload_button.clicked.connect(self.unload_selected)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.unload_button)
        box.addLayout(row)

        layout = QVBoxLayout(self)
        layout.addWidget(source)
        layout.addWidget(loaded, 1)

    def _fill_sources(self) -> None:
        self.embedded = {m.name: m for m in embedded_models()}
        names = list(self.embedded)
        names += [s for s in self.state.recent_models() if s not in names]
        names += [m.repo_id for m in cached_models() if m.repo_id not in names]
        self.source_combo.addItems(names)
        self.source_combo.setCurrentText(default_model_name())

    def _restore_choices(self) -> None:
        dtype = str(self.state.settings.value("models/dtype", "float32"))
        if self.dtype_combo.findText(dtype) >= 0:
            self.dtype_combo.setCurrentText(dtype)

    def _describe_source(self, text: str) -> None:
        model = self.embedded.get(text.strip())
        if model is not None:
            self.description.setText(
                f"{model.description} Licence: {model.license}. {self._estimate(model.path)}"
            )
        else:
            folder = Path(text.strip()).expanduser()
            self.description.setText(self._estimate(folder) if text.strip() and folder.is_dir() else "")

    def _estimate(self, folder: Path) -> str:
        """The weights' memory in the chosen dtype, said before loading (an estimate: it never blocks)."""
        dtype = self.dtype_combo.currentText() or "float32"
        try:
            return f"Needs about {format_bytes(estimate_bytes(folder, dtype))} in {dtype}."
        except (OSError, ValueError, KeyError):  # unreadable headers: check_folder explains on load
            return ""

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Choose a Hugging Face model folder (with config.json)"
        )
        if folder:
            self.browse_to(folder)

    def browse_to(self, folder: str) -> bool:
        """Put a browsed folder in the source box and check it at once (a few file checks, no loading):
        the previous model's message goes, and a folder that is not a model says what it lacks."""
        self.source_combo.setCurrentText(folder)
        self.status.setToolTip("")
        self.progress.setValue(0)
        try:
            check_folder(Path(folder), trust_remote_code=self.trust_box.isChecked())
        except ModelSourceError as exc:
            self.status.setStyleSheet(message_style("error"))
            self.status.setText(str(exc))
            return False
        self.status.setStyleSheet("")
        self.status.setText(
            f"{folder} looks like a model folder: press Load (Ctrl+L). {self._estimate(Path(folder))}"
        )
        return True

    def _set_devices(self, devices: list[DeviceInfo]) -> None:
        self.devices = devices
        wanted = str(self.state.settings.value("models/device", "cpu"))
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        for d in devices:
            self.device_combo.addItem(d.label, d.id)
        index = max(0, self.device_combo.findData(wanted))
        self.device_combo.blockSignals(False)
        self.device_combo.setCurrentIndex(index)
        self._device_changed()

    def _device_changed(self) -> None:
        info = next((d for d in self.devices if d.id == self.device_combo.currentData()), None)
        if info is None:
            return
        current = self.dtype_combo.currentText()
        self.dtype_combo.clear()
        self.dtype_combo.addItems(list(info.dtypes))
        self.dtype_combo.setCurrentText(current if current in info.dtypes else "float32")

    # ---- actions ------------------------------------------------------------------------------------
    def load(
        self, spec: str, device: str | None = None, dtype: str | None = None, duplicate: str = "ask"
    ) -> Worker:
        """Load `spec` in the background; `duplicate` is ask|reuse|copy when it is already loaded."""
        device = device or self.device_combo.currentData() or "cpu"
        dtype = dtype or self.dtype_combo.currentText()
        policy = "error" if duplicate == "ask" else duplicate
        self.worker = Worker(_load_job, self.state, spec, device, dtype, policy, self.trust_box.isChecked())
        self.worker.progress.connect(self._on_progress)
        self.worker.result.connect(lambda value: self._on_loaded(value, spec, device, dtype))
        self.worker.error.connect(self._on_error)
        self.worker.cancelled.connect(self._on_cancelled)
        self._set_busy(True, f"Loading {spec} on {device} ({dtype})…")
        return self.worker.start()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.status.setText("Cancelling… (stops at the next step)")

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.load_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        if busy:
            self.progress.setValue(0)
        self.status.setStyleSheet("")
        self.status.setText(message)

    def _on_progress(self, fraction: float, message: str) -> None:
        if fraction < 0:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(fraction * 100))
        self.status.setText(message)

    def _on_loaded(self, value: Any, spec: str, device: str, dtype: str) -> None:
        if isinstance(value, DuplicateModelError):
            self._set_busy(False)
            answer = self.ask_duplicate(str(value))
            if answer in ("reuse", "copy"):
                self.load(spec, device, dtype, duplicate=answer)
            else:
                self.status.setText("Not loaded: the model was already loaded.")
                self.load_finished.emit("")
            return
        self._set_busy(
            False,
            f"Loaded {value.key}: {value.param_count / 1e6:.1f} M parameters, {format_bytes(value.bytes)}.",
        )
        self.progress.setValue(100)
        self.state.remember_recent(spec)
        self.state.settings.setValue("models/device", device)
        self.state.settings.setValue("models/dtype", dtype)
        self.state.add_loaded(value)
        self.select_key(value.key)
        self.load_finished.emit(value.key)

    def ask_duplicate(self, message: str) -> str:
        """Ask whether to reuse the loaded copy or load another: 'reuse', 'copy' or 'cancel'."""
        box = QMessageBox(QMessageBox.Icon.Question, "Already loaded", message, parent=self)
        reuse = box.addButton("Reuse it", QMessageBox.ButtonRole.AcceptRole)
        copy = box.addButton("Load a second copy", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return {reuse: "reuse", copy: "copy"}.get(box.clickedButton(), "cancel")

    def _on_error(self, message: str, details: str) -> None:
        self._set_busy(False)
        self.progress.setValue(0)
        self.status.setStyleSheet(message_style("error"))
        self.status.setText(message)
        if details:
            self.status.setToolTip(details)
        self.load_finished.emit("")

    def _on_cancelled(self) -> None:
        self._set_busy(False, "Loading cancelled.")
        self.progress.setValue(0)
        self.load_finished.emit("")

    def refresh_table(self) -> None:
        models = self.state.registry.models()
        self.table.setRowCount(len(models))
        for row, m in enumerate(models):
            values = [
                m.key,
                m.family,
                m.architecture,
                f"{m.param_count / 1e6:.1f} M",
                format_bytes(m.bytes),
                m.device,
                m.dtype,
                ", ".join(m.heads),
            ]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, m.key)
                self.table.setItem(row, col, item)
        self.unload_button.setEnabled(bool(models))

    def select_key(self, key: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == key:
                self.table.selectRow(row)

    def unload_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.status.setText("Select a loaded model to unload.")
            return
        key = self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        self.state.unload(key)
        self.status.setStyleSheet("")
        self.status.setText(f"Unloaded {key}; its memory is free again.")

    def search(self) -> None:
        task = HUB_TASKS[self.search_task.currentText()]
        self.search_button.setEnabled(False)
        self.search_results.show()
        self.search_results.clear()
        self.search_results.addItem("Searching…")
        worker = Worker(lambda query, state: search_hub(query, task), self.search_edit.text().strip())
        worker.result.connect(self._show_hits)
        worker.error.connect(lambda message, _: self._show_search_message(message))
        worker.finished.connect(lambda: self.search_button.setEnabled(True))
        worker.start()

    def _show_hits(self, hits: list) -> None:
        self.search_results.clear()
        for hit in hits:
            self.search_results.addItem(
                f"{hit.repo_id}  ({hit.downloads:,} downloads, {hit.task or 'no task'})"
            )
            self.search_results.item(self.search_results.count() - 1).setData(
                Qt.ItemDataRole.UserRole, hit.repo_id
            )
        if not hits:
            self.search_results.addItem("No models found.")

    def _show_search_message(self, message: str) -> None:
        self.search_results.clear()
        self.search_results.addItem(message)
