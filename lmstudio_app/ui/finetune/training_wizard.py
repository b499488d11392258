"""What the fine-tune and pre-training wizards share: pages that end in training and its results, Back off
while training runs, and closing during training asks, then cancels and keeps the checkpoint.

A wizard may hold several paths of pages (the fine-tune wizard has one per task: labels, word tags,
question answering); each path is added with `add_pages` and ends in its own Train and Results pages, and
Next follows the path of the page shown.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QMessageBox, QWidget, QWizard, QWizardPage

from lmstudio_app.ui.sizing import fit_to_screen

STOP_QUESTION = "Stop the training? A checkpoint is kept, and the run can be resumed from the Fine-tune tab."


class TrainingWizard(QWizard):
    """Call `add_pages` with every page of a path; each path's `train_page.view` is its run's TrainView."""

    run_changed = Signal()  # a run started, finished, was cancelled or failed (the runs list refreshes)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        fit_to_screen(self, QSize(1000, 760))
        self.train_page: QWizardPage | None = None
        self._train_pages: list[QWizardPage] = []
        self._paths: list[list[int]] = []
        # QWizard re-enables Back whenever it updates its buttons: switch it off again while training.
        self.currentIdChanged.connect(self._update_back)

    def add_pages(
        self, pages: list[QWizardPage], train_page: QWizardPage, first_id: int | None = None
    ) -> list[int]:
        """Add one path of pages (with ids from `first_id` on, else the next free ones); returns their ids."""
        ids = []
        for i, page in enumerate(pages):
            if first_id is None:
                ids.append(self.addPage(page))
            else:
                self.setPage(first_id + i, page)
                ids.append(first_id + i)
            # Any page's completeChanged (a settings page's late warm-up) makes QWizard enable Back again.
            page.completeChanged.connect(self._update_back)
        self._paths.append(ids)
        self._train_pages.append(train_page)
        train_page.view.state_changed.connect(lambda _s: self.run_changed.emit())
        train_page.view.state_changed.connect(self._update_back)
        return ids

    def nextId(self) -> int:  # noqa: N802 (Qt's name)
        """The next page of the shown page's own path (-1 after its last: Results is the final page)."""
        current = self.currentId()
        for ids in self._paths:
            if current in ids:
                at = ids.index(current)
                return ids[at + 1] if at + 1 < len(ids) else -1
        return super().nextId()

    def _update_back(self) -> None:
        page = self.currentPage()
        if page is not None and any(page is p for p in self._train_pages):
            self.button(QWizard.WizardButton.BackButton).setEnabled(not page.view.busy)

    @property
    def training(self) -> bool:
        return any(p.view.busy for p in self._train_pages)

    def ask_stop_training(self) -> bool:
        """Ask before closing during training (tests replace this method)."""
        answer = QMessageBox.question(self, "Training is running", STOP_QUESTION)
        return answer == QMessageBox.StandardButton.Yes

    def reject(self) -> None:
        if self.training:
            if not self.ask_stop_training():
                return
            for page in self._train_pages:
                if page.view.busy:
                    page.view.cancel()
        super().reject()
