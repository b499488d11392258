"""The Pre-train wizard's input steps: Text, Model, Objective, Settings (each says what blocks Next)."""

from __future__ import annotations

import html
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWizard,
    QWizardPage,
)

from lmstudio_app.core.models.registry import HEAD_CLS, HEAD_ENCODER, HEAD_MLM
from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM, ENCODER_TASKS, embedded_models
from lmstudio_app.core.pretrain.corpus import TextSource
from lmstudio_app.core.pretrain.settings import PretrainSettings
from lmstudio_app.ui.processes_box import processes_box
from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.sizing import compact_combo

ERROR_STYLE = "color: #c0392b;"
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".xlsx")
DEFAULT_PROBES = "The cat sat on the [MASK].\nParis is the capital of [MASK]."


@dataclass
class PretrainContext:
    """Filled page by page; a page reads only what the pages before it validated."""

    app: Any = None
    source: TextSource = field(default_factory=TextSource)
    corpus: Any = None  # core.pretrain.corpus.Corpus
    can_nsp: bool = False
    settings: PretrainSettings = field(default_factory=PretrainSettings)
    run_dir: Path | None = None
    result: Any = None


def command_line(source: TextSource, s: PretrainSettings) -> str:
    """The `lmstudio-app pretrain` line that runs the same job without the window."""
    d = PretrainSettings()
    args = ["lmstudio-app", "pretrain"]
    args += (
        ["--csv", source.table, "--text-column", source.column] if source.table else ["--text", *source.paths]
    )
    args += ["-m", s.base_model, "-o", s.name or "pretrained-model"]
    if s.mlm_probability != d.mlm_probability:
        args += ["--mlm-probability", f"{s.mlm_probability:g}"]
    if s.whole_words:
        args.append("--whole-words")
    if s.nsp:
        args += ["--nsp", "--alpha", f"{s.alpha:g}", "--beta", f"{s.beta:g}"]
    args += ["--max-steps", str(s.max_steps)] if s.max_steps > 0 else ["--epochs", f"{s.epochs:g}"]
    args += [
        "--lr",
        f"{s.learning_rate:g}",
        "--batch-size",
        str(s.batch_size),
        "--max-length",
        str(s.max_length),
    ]
    args += ["--precision", s.precision, "--seed", str(s.seed)]
    if s.eval_steps:
        args += ["--eval-steps", str(s.eval_steps)]
    args += ["--processes", str(s.processes)] if s.processes > 1 else []
    for probe in s.probes:
        args += ["--probe", probe]
    return shlex.join(args)


def _error(label: QLabel, message: str) -> None:
    label.setText(f"<span style='{ERROR_STYLE}'><b>{html.escape(message)}</b></span>")


def _corpus_job(source: TextSource, fraction: float, seed: int, *, state: Any) -> tuple[Any, int]:
    """The corpus and its token count with the embedded masked-LM's tokenizer (a fair estimate for BERTs)."""
    from transformers import AutoTokenizer

    from lmstudio_app.core.models.sources import find_embedded
    from lmstudio_app.core.pretrain.corpus import build_corpus
    from lmstudio_app.core.pretrain.data import count_tokens, tokenize_documents

    corpus = build_corpus(source, fraction, seed, state)
    embedded = find_embedded(DEFAULT_MASKED_LM)
    if embedded is None:
        return corpus, -1
    tokenizer = AutoTokenizer.from_pretrained(embedded.path, local_files_only=True)
    return corpus, count_tokens(tokenize_documents(tokenizer, corpus.train + corpus.held_out, state))


def _columns_job(path: str, *, state: Any) -> list[str]:
    from lmstudio_app.core.data.table import read_table

    return read_table(path, state=state).columns


def _plan_job(spec: str, *, state: Any) -> Any:
    from lmstudio_app.core.models.local import resolve_local
    from lmstudio_app.core.pretrain.model import plan_model

    state.progress(-1, "Reading the model's configuration")
    source = resolve_local(spec)
    return plan_model(source.path, source.name, nsp=False)


class TextPage(QWizardPage):
    """Step 1: text files or a folder of them, or a table column; counts, duplicates and the held-out share."""

    def __init__(self, ctx: PretrainContext, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx, self.ready, self.busy = ctx, False, False
        self.last_read: tuple | None = None
        self.setTitle("Text")
        self.setSubTitle(
            "The text to continue pre-training on: text files (README, .txt, .md…), a folder of them, "
            "or a table column."
        )
        self.path_edit = QLineEdit(placeholderText="files or folders, separated by ';' — or one table file")
        self.path_edit.editingFinished.connect(self.read)
        files, folder = QPushButton("Files…"), QPushButton("Folder…")
        files.clicked.connect(self._pick_files)
        folder.clicked.connect(self._pick_folder)
        self.column = compact_combo(QComboBox())
        self.column.activated.connect(lambda _i: self.read())
        self.held_out = QDoubleSpinBox(minimum=2, maximum=5, value=3, decimals=1, suffix=" %", singleStep=0.5)
        self.held_out.valueChanged.connect(lambda _v: self.read())
        self.summary = QLabel(wordWrap=True)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(files)
        row.addWidget(folder)
        form = QFormLayout(self)
        form.addRow("Text:", row)
        form.addRow("Table column:", self.column)
        form.addRow("Held out for evaluation:", self.held_out)
        form.addRow(self.summary)
        self.reader = LatestOnly(self)

    def _pick_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self,
            "Text files",
            "",
            "Text (*.txt *.md *.rst);;Tables (*.csv *.tsv *.jsonl *.xlsx);;All files (*)",
        )
        if paths:
            self.path_edit.setText(";".join(paths))
            self.read()

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder of text files")
        if folder:
            self.path_edit.setText(folder)
            self.read()

    def source(self) -> TextSource:
        paths = [p.strip() for p in self.path_edit.text().split(";") if p.strip()]
        if len(paths) == 1 and paths[0].lower().endswith(TABLE_SUFFIXES):
            return TextSource(table=paths[0], column=self.column.currentText())
        return TextSource(paths=paths)

    def read(self) -> None:
        source = self.source()
        key = (source, self.held_out.value())
        if key == self.last_read and (self.busy or self.ready):
            return  # focus leaving the box re-sends editingFinished: read only what changed
        self.last_read, self.ready, self.busy = key, False, True
        self.completeChanged.emit()
        if not source.paths and not source.table:
            self.busy = False
            self.summary.setText("Choose text files, a folder, or a table.")
            return
        if source.table and not source.column:
            worker = self.reader.submit(_columns_job, source.table)
            worker.result.connect(self._columns)
        else:
            self.summary.setText("Reading the text…")
            worker = self.reader.submit(_corpus_job, source, self.held_out.value() / 100, 42)
            worker.result.connect(lambda value, s=source: self._show(s, *value))
        worker.error.connect(lambda message, _d: self._failed(message))
        worker.start()

    def _columns(self, columns: list[str]) -> None:
        self.column.clear()
        self.column.addItems(columns)
        guess = next((c for c in columns if c.lower() in ("text", "body", "content", "sentence")), columns[0])
        self.column.setCurrentText(guess)
        self.read()

    def _show(self, source: TextSource, corpus: Any, tokens: int) -> None:
        self.busy, self.ready = False, True
        self.ctx.source, self.ctx.corpus = source, corpus
        counted = f"; about {tokens:,} tokens" if tokens >= 0 else ""
        problems = "".join(f"<br>• {html.escape(p)}" for p in corpus.problems)
        self.summary.setText(f"<b>{html.escape(corpus.summary())}{counted}.</b>{problems}")
        self.completeChanged.emit()

    def _failed(self, message: str) -> None:
        self.busy, self.ready = False, False
        _error(self.summary, message)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self.ready


class ModelPage(QWizardPage):
    """Step 2: any masked-LM or encoder; what will be added to it is said in words."""

    def __init__(self, ctx: PretrainContext, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx, self.plan, self.busy, self.checked = ctx, None, False, ""
        self.setTitle("Model")
        self.setSubTitle(
            "Any masked-LM (embedded, a folder, a hub id in your cache, a loaded model) or a BERT-like encoder."
        )
        self.model_combo = compact_combo(QComboBox(editable=True), 28)
        self.model_combo.lineEdit().editingFinished.connect(self.check_model)
        self.model_combo.activated.connect(lambda _i: self.check_model())
        self.notes = QLabel(wordWrap=True)
        layout = QFormLayout(self)
        layout.addRow("Model:", self.model_combo)
        layout.addRow(self.notes)
        self.checker = LatestOnly(self)

    def initializePage(self) -> None:  # noqa: N802
        current = self.model_combo.currentText() or DEFAULT_MASKED_LM
        self.model_combo.clear()
        for model in embedded_models():
            if model.task in ENCODER_TASKS:  # an embedded decoder (minilm-clm) is no base for this
                self.model_combo.addItem(model.name, model.name)
        app = self.ctx.app
        for loaded in app.registry.models() if app is not None else []:
            if {HEAD_MLM, HEAD_ENCODER, HEAD_CLS} & set(loaded.heads):
                self.model_combo.addItem(f"{loaded.key} (loaded)", str(loaded.path))
        self.model_combo.setCurrentText(current)
        self.check_model()

    def model_spec(self) -> str:
        text = self.model_combo.currentText().strip()
        index = self.model_combo.findText(text)
        data = self.model_combo.itemData(index) if index >= 0 else None
        return str(data) if data else text

    def check_model(self) -> None:
        spec = self.model_spec()
        if spec == self.checked and (self.busy or self.plan is not None):
            return  # focus leaving the box re-sends editingFinished: check only what changed
        self.checked, self.plan, self.busy = spec, None, True
        self.notes.setText("Checking the model…")
        self.completeChanged.emit()
        worker = self.checker.submit(_plan_job, spec)
        worker.result.connect(self._planned)
        worker.error.connect(lambda message, _d: self._failed(message))
        worker.start()

    def _planned(self, plan: Any) -> None:
        self.plan, self.busy = plan, False
        nsp = (
            "It can learn next-sentence prediction (BERT's pre-training heads)."
            if plan.can_nsp
            else "Next-sentence prediction is not available for this model type."
        )
        notes = " ".join(plan.notes) or "It has a masked-LM head: training continues it."
        self.notes.setText(f"<b>{html.escape(plan.name)}</b> ({plan.model_type}): {html.escape(notes)} {nsp}")
        self.completeChanged.emit()

    def _failed(self, message: str) -> None:
        self.busy = False
        _error(self.notes, message)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return self.plan is not None

    def validatePage(self) -> bool:  # noqa: N802
        self.ctx.settings.base_model = self.model_spec()
        self.ctx.can_nsp = self.plan.can_nsp
        return True


class ObjectivePage(QWizardPage):
    """Step 3: masking, packing length, NSP with α and β, and the probe sentences to watch."""

    def __init__(self, ctx: PretrainContext, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Objective")
        self.setSubTitle(
            "BERT's defaults: 15 % of the tokens, of which 80 % become [MASK], 10 % a random token, 10 % stay."
        )
        self.probability = QDoubleSpinBox(minimum=1, maximum=50, value=15, decimals=1, suffix=" %")
        self.mask_share = QSpinBox(minimum=0, maximum=100, value=80, suffix=" % [MASK]")
        self.random_share = QSpinBox(minimum=0, maximum=100, value=10, suffix=" % random")
        self.whole_words = QCheckBox("Whole-word masking (all pieces of a chosen word become [MASK])")
        self.max_length = QSpinBox(minimum=16, maximum=512, value=128, singleStep=16)
        self.max_length.setToolTip(
            "Consecutive sentences are packed into sequences of up to this many tokens"
        )
        self.nsp = QCheckBox("Next-sentence prediction (pairs of consecutive sentences, 50 % random next)")
        self.alpha = QDoubleSpinBox(minimum=0, maximum=10, value=1, decimals=2, singleStep=0.1)
        self.beta = QDoubleSpinBox(minimum=0, maximum=10, value=1, decimals=2, singleStep=0.1)
        self.probes = QPlainTextEdit(DEFAULT_PROBES)
        self.probes.setToolTip("One sentence per line, each with [MASK] where a word is missing")
        self.description = QLabel(wordWrap=True)
        shares = QHBoxLayout()
        shares.addWidget(self.mask_share)
        shares.addWidget(self.random_share)
        weights = QHBoxLayout()
        weights.addWidget(QLabel("L = α·L_MLM + β·L_NSP with α"))
        weights.addWidget(self.alpha)
        weights.addWidget(QLabel("β"))
        weights.addWidget(self.beta)
        form = QFormLayout(self)
        form.addRow("Masking probability:", self.probability)
        form.addRow("Of the masked tokens:", shares)
        form.addRow(self.whole_words)
        form.addRow("Max length (tokens):", self.max_length)
        form.addRow(self.nsp)
        form.addRow("Loss weights:", weights)
        form.addRow("Probe sentences:", self.probes)
        form.addRow(self.description)
        for signal in (
            self.probability.valueChanged,
            self.mask_share.valueChanged,
            self.random_share.valueChanged,
            self.whole_words.toggled,
            self.max_length.valueChanged,
            self.nsp.toggled,
            self.alpha.valueChanged,
            self.beta.valueChanged,
            self.probes.textChanged,
        ):
            signal.connect(self._update)

    def initializePage(self) -> None:  # noqa: N802
        self.nsp.setEnabled(self.ctx.can_nsp)
        if not self.ctx.can_nsp:
            self.nsp.setChecked(False)
            self.nsp.setToolTip("This model type cannot have BERT's next-sentence head")
        self._update()

    def apply(self, s: PretrainSettings) -> None:
        s.mlm_probability = self.probability.value() / 100
        s.mask_replace, s.random_replace = self.mask_share.value() / 100, self.random_share.value() / 100
        s.whole_words, s.max_length, s.nsp = (
            self.whole_words.isChecked(),
            self.max_length.value(),
            self.nsp.isChecked(),
        )
        s.alpha, s.beta = self.alpha.value(), self.beta.value()
        s.probes = [line.strip() for line in self.probes.toPlainText().splitlines() if line.strip()]

    def problem(self) -> str:
        from lmstudio_app.core.errors import UserError
        from lmstudio_app.core.pretrain.evaluate import check_probes

        s = self.ctx.settings.copy()
        self.apply(s)
        unmasked = check_probes(s.probes)
        if unmasked:
            return f"The probe sentence {unmasked[0]!r} has no [MASK]."
        try:
            s.check()
        except UserError as exc:
            return str(exc)
        return ""

    def _update(self) -> None:
        for w in (self.alpha, self.beta):
            w.setEnabled(self.nsp.isChecked())
        problem = self.problem()
        if problem:
            _error(self.description, problem)
        else:
            s = self.ctx.settings.copy()
            self.apply(s)
            self.description.setText(f"Objective: {html.escape(s.objective())}.")
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return not self.problem()

    def validatePage(self) -> bool:  # noqa: N802
        self.apply(self.ctx.settings)
        return True


class SettingsPage(QWizardPage):
    """Step 4: length, learning rate, batch, warm-up, precision, seed, evaluation interval; the command line."""

    def __init__(self, ctx: PretrainContext, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Settings")
        self.setSubTitle("The defaults suit continued pre-training of a small model.")
        self.setButtonText(QWizard.WizardButton.NextButton, "Train")
        d = PretrainSettings()
        self.max_steps = QSpinBox(minimum=0, maximum=10_000_000, value=200)
        self.max_steps.setSpecialValueText("whole epochs")
        self.epochs = QDoubleSpinBox(minimum=0.1, maximum=100, value=d.epochs, decimals=1)
        self.lr = QLineEdit(f"{d.learning_rate:g}")
        self.batch = QSpinBox(minimum=1, maximum=1024, value=d.batch_size)
        self.warmup = QDoubleSpinBox(
            minimum=0, maximum=0.5, value=d.warmup_ratio, decimals=2, singleStep=0.02
        )
        self.precision = compact_combo(QComboBox(), 28)
        for label, value in (
            ("Automatic (bf16 where the hardware has it)", "auto"),
            ("float32", "fp32"),
            ("bfloat16", "bf16"),
            ("float16 (GPU)", "fp16"),
        ):
            self.precision.addItem(label, value)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=d.seed)
        self.processes = processes_box(d.processes)
        self.eval_steps = QSpinBox(minimum=0, maximum=1_000_000, value=0)
        self.eval_steps.setSpecialValueText("automatic (3 times a run)")
        self.run_name = QLineEdit(placeholderText="optional: a name for this run")
        self.command = QLineEdit(readOnly=True)
        self.message = QLabel(wordWrap=True)
        form = QFormLayout(self)
        form.addRow("Max steps:", self.max_steps)
        form.addRow("Epochs (when no max steps):", self.epochs)
        form.addRow("Learning rate:", self.lr)
        form.addRow("Batch size:", self.batch)
        form.addRow("Processes / GPUs:", self.processes)
        form.addRow("Warm-up ratio:", self.warmup)
        form.addRow("Precision:", self.precision)
        form.addRow("Seed:", self.seed)
        form.addRow("Evaluate every (steps):", self.eval_steps)
        form.addRow("Run name:", self.run_name)
        form.addRow("Command line:", self.command)
        form.addRow(self.message)
        for signal in (
            self.max_steps.valueChanged,
            self.epochs.valueChanged,
            self.lr.textChanged,
            self.batch.valueChanged,
            self.processes.valueChanged,
            self.warmup.valueChanged,
            self.precision.currentIndexChanged,
            self.seed.valueChanged,
            self.eval_steps.valueChanged,
            self.run_name.textChanged,
        ):
            signal.connect(self._update)

    def initializePage(self) -> None:  # noqa: N802
        self._update()

    def settings(self) -> PretrainSettings:
        s = self.ctx.settings.copy()
        s.max_steps = self.max_steps.value() or -1
        s.epochs, s.batch_size, s.processes = self.epochs.value(), self.batch.value(), self.processes.value()
        try:
            s.learning_rate = float(self.lr.text())
        except ValueError:
            s.learning_rate = -1.0
        s.warmup_ratio, s.seed = self.warmup.value(), self.seed.value()
        s.precision, s.eval_steps = self.precision.currentData(), self.eval_steps.value()
        s.held_out_fraction = (
            self.wizard().text_page.held_out.value() / 100 if self.wizard() else s.held_out_fraction
        )
        s.name = self.run_name.text().strip() or f"pretrain-{Path(s.base_model).name}"
        return s

    def _update(self) -> None:
        from lmstudio_app.core.errors import UserError

        s = self.settings()
        try:
            s.check()
            self.message.setText("")
        except UserError as exc:
            _error(self.message, str(exc))
        self.command.setText(command_line(self.ctx.source, s))
        self.command.setCursorPosition(0)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        return not self.message.text()

    def validatePage(self) -> bool:  # noqa: N802
        self.ctx.settings = self.settings()
        return True
