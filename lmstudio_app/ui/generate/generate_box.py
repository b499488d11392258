"""Generate and watch it stream: strategy and settings, Generate/Stop, "N / max tokens", the output.

The core's `generate` calls `on_token` on the worker thread for every new token; it lands in the run's own
inbox (a deque: appends are thread-safe), which the window drains every FLUSH_MS and appends as coloured
spans. Waking the window's thread once per token (a queued signal each) cost the stream ~10 % of its
speed; 25 updates a second still read as streaming. Stop asks the worker's TaskState to stop: the core
ends the loop and what was generated stays on screen.
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from lmstudio_app.core.generate.settings import GenerateSettings
from lmstudio_app.core.generate.stream import GeneratedToken, Generation, generate
from lmstudio_app.core.models.registry import LoadedModel
from lmstudio_app.ui.generate.output_view import OutputView
from lmstudio_app.ui.generate.strategy_form import StrategyForm
from lmstudio_app.ui.qthreading import LatestOnly
from lmstudio_app.ui.theme import message_style

SHORTCUT = "Ctrl+Return"
FLUSH_MS = 40


class GenerateBox(QWidget):
    """`run` on the button or Ctrl+Enter; the panel answers with `start(...)`. `finished` after any end."""

    run = Signal()
    finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.latest = LatestOnly(self)
        self._inbox: deque[GeneratedToken] = deque()  # the running generation's tokens, not yet shown
        self._flush_timer = QTimer(self, interval=FLUSH_MS, timeout=self._flush)
        self.result: Generation | None = None
        self.form = StrategyForm()
        self.run_button = QPushButton("Generate (Ctrl+Enter)")
        self.run_button.setToolTip("Generate from the prompt with the strategy and settings above")
        self.run_button.clicked.connect(self.run)
        self.stop_button = QPushButton("Stop", enabled=False)
        self.stop_button.setToolTip("Stop now and keep what was generated")
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar(textVisible=True)
        self.progress.setFormat("%v / %m tokens")
        self.progress.setFixedWidth(150)
        self.status = QLabel(wordWrap=True)  # a long error wraps instead of widening the window
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.output = OutputView()
        shortcut = QShortcut(QKeySequence(SHORTCUT), self, activated=self._shortcut)
        shortcut.setWhatsThis("Generate from the prompt (Generate tab)")
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.progress)
        row.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form)
        layout.addLayout(row)
        layout.addWidget(self.output, 1)

    def _shortcut(self) -> None:
        if self.run_button.isEnabled():
            self.run.emit()

    def say(self, kind: str, text: str) -> None:
        """A status line: plain, or an `error`/`warning`/`ok` message in the theme's colour."""
        self.status.setStyleSheet(message_style(kind) if kind else "")
        self.status.setText(text)

    def start(self, loaded: LoadedModel, prompt: str, source: str | None, settings: GenerateSettings) -> None:
        """Generate on a worker; tokens stream into the output as they come. The core checks the settings
        against the model (a UserError arrives as the status line)."""
        self._inbox = inbox = deque()  # a new run's own: a stopped older one can append nothing shown
        worker = self.latest.submit(
            generate,
            loaded.model,
            loaded.tokenizer,
            prompt,
            settings,
            source=source,
            on_token=inbox.append,
        )
        worker.result.connect(self._done)
        worker.error.connect(lambda message, _details: self.say("error", message))
        worker.cancelled.connect(self._stopped)
        worker.finished.connect(self._finished)
        self.result = None
        self.output.text.start(prompt)
        self.progress.setRange(0, settings.max_new_tokens)
        self.progress.setValue(0)
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        beams = " (beam search shows its tokens at the end)" if settings.strategy == "beam" else ""
        self.say("", f"Generating with {loaded.key}…{beams}")
        worker.start()
        self._flush_timer.start()

    def stop(self) -> None:
        self.latest.cancel()
        self.say("", "Stopping…")

    def _count(self) -> str:
        n = len(self.output.text.tokens)
        return f"{n} token{'s' if n != 1 else ''}"

    def _stopped(self) -> None:
        self._flush()
        self.say("", f"Stopped after {self._count()}.")

    def _flush(self) -> None:
        tokens = []
        while self._inbox:
            tokens.append(self._inbox.popleft())
        if tokens:
            self.output.text.append_tokens(tokens)
            self.progress.setValue(min(len(self.output.text.tokens), self.progress.maximum()))

    def _done(self, generation: Generation) -> None:
        self._flush()
        self.result = generation
        text = self.output.text
        # The core drops a step that generate undid after reporting it: show exactly what it returned.
        if [t.id for t in text.tokens] != [t.id for t in generation.tokens]:
            text.start(text.prompt)
            text.append_tokens(generation.tokens)
        self.progress.setValue(min(len(generation.tokens), self.progress.maximum()))
        self.say("", f"Generated {self._count()}. Hover a token for its probability and the alternatives.")

    def _finished(self) -> None:
        self._flush()  # a stopped run keeps every token that arrived
        self._flush_timer.stop()
        self.run_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.finished.emit()

    def restyle(self) -> None:
        self.output.text.restyle()
        self.output.legend.update()
