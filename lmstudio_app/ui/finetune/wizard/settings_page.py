"""Step 4: base model and hyperparameters, with a token-length histogram to choose the max length.

One page for every task's path: `SettingsKind` (this module's default, the text classifier) says what the
lengths are of, how they are measured and described, which settings of its own the job adds and checks;
word tagging and question answering bring their own kinds.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

from lmstudio_app.core.models.registry import HEAD_CLS, HEAD_ENCODER, HEAD_MLM, HEAD_NSP
from lmstudio_app.core.models.sources import DEFAULT_ENCODER, ENCODER_TASKS, embedded_models
from lmstudio_app.ui.finetune.wizard.context import WizardContext
from lmstudio_app.ui.finetune.wizard.memory_note import MemoryNote
from lmstudio_app.ui.processes_box import processes_box
from lmstudio_app.ui.qthreading import LatestOnly, Worker
from lmstudio_app.ui.sizing import compact_combo
from lmstudio_app.ui.theme import message_style
from lmstudio_app.ui.widgets.deferred import Deferred
from lmstudio_app.ui.widgets.length_histogram import LengthHistogram

LEARNING_RATES = ["2e-5", "3e-5", "5e-5", "1e-4", "2e-4"]
PRECISIONS = {
    "Automatic (bf16 where the GPU or CPU computes it natively, else fp16 on GPUs, fp32 on CPUs)": "auto",
    "float32": "fp32",
    "bfloat16": "bf16",
    "float16": "fp16",
}


def _lengths_job(spec: str, data: Any, *, state: Any) -> tuple[list[int], int]:
    """Token lengths of (a sample of) the data with the base model's tokenizer, and a suggested max length."""
    from lmstudio_app.core.finetune.encode import measure_lengths

    return measure_lengths(spec, data, state)


def _devices_job(spec: str, *, state: Any) -> list:
    """The devices, and the base model's code imported ahead of the Results page (its predictions).

    Importing a model family's modules holds the GIL for up to half a second at a time; done here, while
    the user reads the settings, those pauses land on no view. Training itself imports nothing here: it
    runs in a process of its own (ui/finetune/training_session.py). This runs after the token lengths were
    measured: two threads importing transformers at once can deadlock.
    """
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.models.devices import list_devices
    from lmstudio_app.core.models.imports import import_quietly
    from lmstudio_app.core.models.local import resolve_local

    try:
        model_dir = resolve_local(spec).path
    except UserError:  # not a local model (yet): the Train page reports that
        model_dir = None
    import_quietly(model_dir=model_dir)
    return list_devices()


def _split_problem(settings: dict) -> str:
    """Why the batch cannot be split over the processes ("" when it can)."""
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.training.ranks import per_process_batch

    try:
        per_process_batch(settings["batch_size"], settings["processes"])
    except UserError as exc:
        return str(exc)
    return ""


class SettingsKind:
    """What the Settings page does for one job kind; this one: a text classifier on labelled texts."""

    lengths_title = "Max length (tokens per example; longer texts are truncated)"
    axis = ("tokens per example", "examples")
    measuring = "Measuring the token lengths of your texts…"
    max_length = (8, 512, 128)  # lowest, highest, before the data is measured

    def measure(self, spec: str, ctx: Any, *, state: Any) -> Any:
        """Measure the data with the tokenizer of `spec` (on a worker); `unpack` reads the value."""
        return _lengths_job(spec, ctx.data, state=state)

    def unpack(self, value: Any) -> tuple[list[int], int]:
        """(lengths for the histogram, suggested max length) from what `measure` returned."""
        return value

    def describe(self, page: SettingsPage, max_length: int) -> str:
        """The note beside the max length: what it does to the measured data."""
        lengths = page.histogram.lengths
        cut = page.histogram.truncated(max_length)
        return (
            f"Longest example: {max(lengths)} tokens. {cut:,} of {len(lengths):,} measured examples "
            f"({100 * cut / len(lengths):.1f} %) would be truncated at {max_length}."
        )

    def add_fields(self, page: SettingsPage) -> list[tuple[str, Any]]:
        """(label, widget or layout) rows of the job's own settings, under the base model."""
        return []

    def max_length_changed(self, page: SettingsPage, value: int) -> None:
        """A job whose own settings follow the max length updates them here."""

    def settings(self, page: SettingsPage) -> dict:
        """The job's own keys of the settings dict."""
        ctx = page.ctx
        return {
            "text_column": ctx.text_column,
            "label_column": ctx.label_column,
            "text_pair_column": ctx.pair_column,
        }

    def problem(self, settings: dict) -> str:
        """Why these settings cannot train ("" when they can); shown on the page, Next stays."""
        return ""


class SettingsPage(QWizardPage):
    """Defaults that work for small models: lr 1e-4, 3 epochs, batch 16, max length from the data."""

    def __init__(self, ctx: WizardContext, parent: Any = None, kind: SettingsKind | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.kind = kind or SettingsKind()
        self.measured: Any = None  # what kind.measure returned for the data and model measured last
        self.error = ""
        self.measuring = False
        self._max_length_touched = False
        self._measured: tuple[str, int] | None = None
        self.setTitle("Model and settings")
        self.setSubTitle("The defaults work for small models; change them if you know what you want.")
        self.setButtonText(QWizard.WizardButton.NextButton, "Train")
        self.model_combo = compact_combo(QComboBox(editable=True), 28)
        self.model_combo.setToolTip(
            "An embedded model, a loaded one, a local Hugging Face folder or a hub id"
        )
        self.model_combo.lineEdit().editingFinished.connect(self._measure)
        self.model_combo.activated.connect(self._measure)
        self.epochs = QDoubleSpinBox(minimum=0.1, maximum=100, value=3, decimals=1, singleStep=1)
        self.lr = QComboBox(editable=True)
        self.lr.addItems(LEARNING_RATES)
        self.lr.setCurrentText("1e-4")
        self.batch = QSpinBox(minimum=1, maximum=1024, value=16)
        low, high, start = self.kind.max_length
        self.max_length = QSpinBox(minimum=low, maximum=high, value=start, singleStep=8)
        self.max_length.valueChanged.connect(self._max_length_changed)
        self.warmup = QDoubleSpinBox(minimum=0, maximum=0.5, value=0.1, decimals=2, singleStep=0.05)
        self.warmup.setToolTip("Fraction of the steps over which the learning rate rises from 0")
        self.weight_decay = QDoubleSpinBox(minimum=0, maximum=1, value=0.01, decimals=3, singleStep=0.01)
        self.patience = QSpinBox(minimum=0, maximum=100, value=3)
        self.patience.setSpecialValueText("off")
        self.patience.setToolTip(
            "Stop after this many evaluations without a lower validation loss (0: never)"
        )
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=42)
        self.processes = processes_box()
        self.device = compact_combo(QComboBox(), 28)
        self.device.addItem("Automatic (the first GPU, else CPU)", "auto")
        self.precision = compact_combo(QComboBox(), 28)  # its labels explain themselves at length
        for label, value in PRECISIONS.items():
            self.precision.addItem(label, value)
        self.max_steps = QSpinBox(minimum=0, maximum=10_000_000, value=0)
        self.max_steps.setSpecialValueText("no limit")
        self.max_steps.setToolTip("Stop after this many optimizer steps (a quick try); 0 trains all epochs")
        self.eval_steps = QSpinBox(minimum=0, maximum=10_000_000, value=0)
        self.eval_steps.setSpecialValueText("automatic")
        self.eval_steps.setToolTip(
            "Validate (and save a checkpoint) every this many steps; automatic: once per "
            "epoch, at least three times per run"
        )
        self.run_name = QLineEdit(placeholderText="optional: a name for this run")

        grid = QGridLayout()
        pairs = [
            ("Epochs:", self.epochs),
            ("Learning rate:", self.lr),
            ("Batch size:", self.batch),
            ("Warm-up ratio:", self.warmup),
            ("Weight decay:", self.weight_decay),
            ("Early-stopping patience:", self.patience),
            ("Seed:", self.seed),
            ("Max steps:", self.max_steps),
            ("Evaluate every (steps):", self.eval_steps),
            ("Processes / GPUs:", self.processes),
        ]
        for i, (label, widget) in enumerate(pairs):
            grid.addWidget(QLabel(label), i // 2, (i % 2) * 2)
            grid.addWidget(widget, i // 2, (i % 2) * 2 + 1)
        top = QFormLayout()
        top.addRow("Base model:", self.model_combo)
        row = QHBoxLayout()
        row.addWidget(self.device, 1)
        row.addWidget(QLabel("Precision:"))
        row.addWidget(self.precision, 1)
        top.addRow("Device:", row)
        top.addRow("Run name:", self.run_name)
        self.memory = MemoryNote()  # the base model's size and a training step's memory, before loading
        self.model_combo.currentTextChanged.connect(lambda _text: self.memory.clear_estimate())
        for box in (self.batch, self.max_length):
            box.valueChanged.connect(self._show_memory)
        self.precision.currentIndexChanged.connect(self._show_memory)
        top.addRow("Memory:", self.memory)
        for label, field in self.kind.add_fields(self):
            top.addRow(label, field)
        lengths = QGroupBox(self.kind.lengths_title)
        box = QVBoxLayout(lengths)
        row = QHBoxLayout()
        row.addWidget(self.max_length)
        self.length_note = QLabel(wordWrap=True)
        row.addWidget(self.length_note, 1)
        box.addLayout(row)
        self._histogram = Deferred(self._make_histogram)
        box.addWidget(self._histogram, 1)
        self.message = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addWidget(lengths, 1)
        layout.addWidget(self.message)
        self.measurer = LatestOnly(self)
        self.warm_up: Worker | None = None

    # ---- filling -------------------------------------------------------------------------------------
    @property
    def histogram(self) -> LengthHistogram:
        """The length histogram, built when the page is first shown (or first given data)."""
        return self._histogram.widget

    def _make_histogram(self) -> LengthHistogram:
        histogram = LengthHistogram()
        histogram.getPlotItem().setLabel("bottom", self.kind.axis[0])
        histogram.getPlotItem().setLabel("left", self.kind.axis[1])
        histogram.max_length_dragged.connect(self._dragged)
        return histogram

    def initializePage(self) -> None:  # noqa: N802
        current = self.model_combo.currentText() or DEFAULT_ENCODER
        self.model_combo.clear()
        for model in embedded_models():
            if model.task in ENCODER_TASKS:  # an embedded decoder (minilm-clm) is no base for this
                self.model_combo.addItem(model.name, model.name)
        app = self.ctx.app
        for loaded in app.registry.models() if app is not None else []:
            if {HEAD_ENCODER, HEAD_MLM, HEAD_NSP, HEAD_CLS} & set(loaded.heads):
                self.model_combo.addItem(f"{loaded.key} (loaded)", str(loaded.path))
        self.model_combo.setCurrentText(current)
        self._measure()

    def _set_devices(self, devices: list) -> None:
        for d in devices:
            self.device.addItem(d.label, d.id)

    def model_spec(self) -> str:
        """What to load: the item's data (a folder, for loaded models) or the typed text."""
        text = self.model_combo.currentText().strip()
        index = self.model_combo.findText(text)
        data = self.model_combo.itemData(index) if index >= 0 else None
        return str(data) if data else text

    def _measure(self, _index: int = -1) -> None:
        spec = self.model_spec()
        if self.ctx.data is None or (spec, id(self.ctx.data)) == self._measured:
            return  # focus leaving the box re-sends editingFinished: measure only what changed
        self._measured = (spec, id(self.ctx.data))
        self.measuring, self.error = True, ""
        self.length_note.setText(self.kind.measuring)
        worker = self.measurer.submit(self.kind.measure, spec, self.ctx)
        worker.result.connect(self._show_lengths)
        worker.error.connect(lambda message, _details: self._show_error(message))
        worker.start()
        self.completeChanged.emit()

    def _show_lengths(self, value: Any) -> None:
        self.measured = value
        lengths, suggested = self.kind.unpack(value)
        self.measuring = False
        self.message.setText("")
        self.histogram.set_lengths(lengths)
        if not self._max_length_touched:
            self.max_length.blockSignals(True)
            self.max_length.setValue(suggested)
            self.max_length.blockSignals(False)
        self.histogram.set_max_length(self.max_length.value())
        self.kind.max_length_changed(self, self.max_length.value())
        self._describe_length()
        self.completeChanged.emit()
        if self.warm_up is None:
            self.warm_up = Worker(_devices_job, self.model_spec())
            self.warm_up.result.connect(self._set_devices)
            self.warm_up.finished.connect(self._size_model)
            self.warm_up.start()
        elif self.warm_up.done:
            self._size_model()

    def _size_model(self) -> None:
        """The memory estimate, after the warm-up's imports (one thread importing at a time)."""
        if not self.measuring and not self.error:
            self.memory.estimate(self.model_spec(), self.ctx.data, self.device.currentData() or "auto")
            self._show_memory()

    def _show_memory(self, *_: Any) -> None:
        self.memory.show_for(self.batch.value(), self.max_length.value(), self.precision.currentData())

    def _show_error(self, message: str) -> None:
        self.measuring = False
        self.error = message
        self.length_note.setText("")
        self.message.setText(f"<span style='{message_style('error')}'><b>{html.escape(message)}</b></span>")
        self.completeChanged.emit()

    def _max_length_changed(self, value: int) -> None:
        self._max_length_touched = True
        self.histogram.set_max_length(value)
        self.kind.max_length_changed(self, value)
        self._describe_length()

    def _dragged(self, value: int) -> None:
        self.max_length.setValue(max(self.max_length.minimum(), min(self.max_length.maximum(), value)))

    def _describe_length(self) -> None:
        if not self.histogram.lengths:
            return
        self.length_note.setText(self.kind.describe(self, self.max_length.value()))

    # ---- validation ----------------------------------------------------------------------------------
    def learning_rate(self) -> float | None:
        try:
            value = float(self.lr.currentText().strip())
        except ValueError:
            return None
        return value if 0 < value < 1 else None

    def isComplete(self) -> bool:  # noqa: N802
        # Not blocked while the lengths are measured: typing a model and clicking Train must just work.
        return not self.error and bool(self.model_spec())

    def validatePage(self) -> bool:  # noqa: N802
        lr = self.learning_rate()
        if lr is None:
            self.message.setText(
                f"<span style='{message_style('error')}'><b>The learning rate must be a number between 0 and 1, "
                "e.g. 5e-5.</b></span>"
            )
            return False
        ctx = self.ctx
        ctx.run_name = self.run_name.text().strip()
        settings = {
            "base_model": self.model_spec(),
            **self.kind.settings(self),
            "epochs": self.epochs.value(),
            "learning_rate": lr,
            "batch_size": self.batch.value(),
            "max_length": self.max_length.value(),
            "warmup_ratio": self.warmup.value(),
            "weight_decay": self.weight_decay.value(),
            "patience": self.patience.value(),
            "seed": self.seed.value(),
            "device": self.device.currentData() or "auto",
            "precision": self.precision.currentData(),
            "val_fraction": ctx.val_fraction,
            "max_steps": self.max_steps.value() or -1,
            "eval_steps": self.eval_steps.value(),
            "processes": self.processes.value(),
        }
        problem = self.kind.problem(settings) or _split_problem(settings)
        if problem:
            self.message.setText(
                f"<span style='{message_style('error')}'><b>{html.escape(problem)}</b></span>"
            )
            return False
        ctx.settings = settings
        return True
