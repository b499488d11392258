"""The wizard path of the word-tags and question-answering tasks: the task's own data page, then the shared
Split, Model and settings, Train and Results pages given the task's rules and views."""

from __future__ import annotations

from typing import Any

from lmstudio_app.ui.finetune.wizard.results_page import ResultsPage
from lmstudio_app.ui.finetune.wizard.settings_page import SettingsKind, SettingsPage
from lmstudio_app.ui.finetune.wizard.split_page import SplitPage, SplitRules
from lmstudio_app.ui.finetune.wizard.tasks import TaskPages
from lmstudio_app.ui.finetune.wizard.train_page import TrainPage


def task_pages(
    ctx: Any,
    data_page: Any,
    rules: SplitRules,
    kind: SettingsKind,
    *,
    train_view: Any,
    hint: str,
    make_view: Any,
) -> TaskPages:
    """The path's pages on `ctx`; `make_view` builds the results view of a finished run."""
    return TaskPages(
        ctx,
        data_page,
        SplitPage(ctx, rules=rules),
        SettingsPage(ctx, kind=kind),
        TrainPage(ctx, view=train_view, hint=hint),
        ResultsPage(ctx, make_view=make_view),
    )
