"""The word-tags path of the fine-tune wizard: Tagged data → Split → Model and settings → Train → Results.

Only the data page is its own; the other pages are the shared ones, given the tagger's rules here: a
seeded split by sentence (or a validation file) counted per tag, sentence lengths in sub-word pieces, the
"every piece" option, the tagger's live figures and its results view.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QCheckBox

from lmstudio_app.ui.finetune.wizard.context import RunContext
from lmstudio_app.ui.finetune.wizard.settings_page import SettingsKind, SettingsPage
from lmstudio_app.ui.finetune.wizard.split_page import SplitRules
from lmstudio_app.ui.finetune.wizard.tasks import TaskPages
from lmstudio_app.ui.taskviews.pages import task_pages
from lmstudio_app.ui.taskviews.settings import settings_problem
from lmstudio_app.ui.tokens.data_page import FILE_FILTER, TokenDataPage, line_list

FEW_WORDS = 3  # a tag with fewer training words than this is worth a warning
HINT = "Click “Results” for token accuracy, entity scores per type, the confusion between tags and “Try it”."


@dataclass
class TokenContext(RunContext):
    """The word-tags path: the tagged data (TaggedData), its tag names when numbered, its lengths."""

    tag_names: list[str] | None = None
    lengths: Any = None  # core.tokens.lengths.SentenceLengths, measured on the data page


def split_warnings(train: Any, val: Any) -> list[str]:
    """Tags the tagger cannot learn (only in validation) or hardly can (a few training words)."""
    train_counts, val_counts = train.tag_counts(), val.tag_counts()
    out = [
        f"{tag} appears only in the validation sentences ({n} words): the tagger cannot learn it."
        for tag, n in sorted(val_counts.items())
        if tag not in train_counts
    ]
    out += [
        f"{tag} has only {n} training word{'s' if n != 1 else ''}: it will hardly be learned."
        for tag, n in sorted(train_counts.items())
        if n < FEW_WORDS
    ]
    return out


class TokenSplit(SplitRules):
    """A seeded random split by sentence, or a validation file in the same layout; counted per tag."""

    subtitle = "Keep some sentences aside to measure how well the tagger does on sentences it has not seen."
    held_out = "of the sentences for validation (a random, seeded split by sentence), seed"
    file_placeholder = "a file of tagged sentences (any of the layouts the Data page reads)"
    file_title = "Open a validation file of tagged sentences"
    file_filter = FILE_FILTER
    headers = ("Tag", "Training words", "Validation words")

    def split(self, ctx: Any, fraction: float, seed: int, val_path: str | None, *, state: Any) -> tuple:
        from lmstudio_app.core.tokens.files import TokenDataPlan

        state.progress(-1, "Splitting the sentences")
        plan = TokenDataPlan(ctx.data_path, val_path, fraction, seed, ctx.tag_names)
        train, val = plan.build(ctx.data)
        return train, val, plan, split_warnings(train, val)

    def sizes(self, train: Any, val: Any) -> tuple[int, int]:
        return len(train), len(val)

    def rows(self, train: Any, val: Any) -> list[tuple[str, int, int]]:
        from lmstudio_app.core.tokens.job import tag_list

        train_counts, val_counts = train.tag_counts(), val.tag_counts()
        return [(t, train_counts.get(t, 0), val_counts.get(t, 0)) for t in tag_list(train, val)]

    def summary(self, train: Any, val: Any) -> str:
        return (
            f"<b>{len(train):,}</b> training and <b>{len(val):,}</b> validation sentences "
            f"({train.words():,} and {val.words():,} words)."
        )


def _measure_job(spec: str, data: Any, *, state: Any) -> Any:
    from lmstudio_app.core.tokens.lengths import measure_sentences

    return measure_sentences(spec, data, state)


class TokenSettingsKind(SettingsKind):
    """Sentence lengths in sub-word pieces; a longer sentence is split into windows, which the note lists."""

    lengths_title = "Max length (sub-word pieces per window; a longer sentence is split into overlapping windows, not cut)"
    axis = ("pieces per sentence", "sentences")
    measuring = "Measuring your sentences in the model's sub-word pieces…"
    max_length = (16, 512, 128)

    def measure(self, spec: str, ctx: Any, *, state: Any) -> Any:
        return _measure_job(spec, ctx.data, state=state)

    def unpack(self, value: Any) -> tuple[list[int], int]:
        return value.lengths, value.suggested

    def describe(self, page: SettingsPage, max_length: int) -> str:
        value = page.measured
        long = value.longer_than(max_length)
        n = len(value.lengths)
        text = (
            f"Longest sentence: {max(value.lengths)} pieces. {len(long):,} of {n:,} sentences "
            f"({100 * len(long) / n:.1f} %) {'are' if len(long) != 1 else 'is'} longer than {max_length}"
        )
        if not long:
            return text + ": every sentence fits one window."
        lines = line_list([ln for ln, _ in long])
        where = f"lines {lines}" if len(long) != 1 else f"line {lines}"
        each = "each is" if len(long) != 1 else "it is"
        return text + f": {each} split into overlapping windows, not cut ({html.escape(where)})."

    def add_fields(self, page: SettingsPage) -> list[tuple[str, Any]]:
        page.all_pieces = QCheckBox("Train every sub-word piece of a word (default: its first piece only)")
        page.all_pieces.setToolTip(
            "A word split into pieces (e.g. 'Black', '##burn') carries its tag on the first piece; ticked, "
            "every piece learns the tag too. Predictions always read the first piece."
        )
        return [("Word pieces:", page.all_pieces)]

    def settings(self, page: SettingsPage) -> dict:
        return {"all_pieces": page.all_pieces.isChecked()}

    def problem(self, settings: dict) -> str:
        from lmstudio_app.core.tokens.settings import TokenSettings

        return settings_problem(TokenSettings, settings)


def token_pages(app: Any) -> TaskPages:
    """The word-tags path's context and pages (the wizard adds them)."""
    from lmstudio_app.ui.tokens.results_view import TokenResultsView
    from lmstudio_app.ui.tokens.train_view import TokenTrainView

    ctx = TokenContext(app=app)
    return task_pages(
        ctx,
        TokenDataPage(ctx),
        TokenSplit(),
        TokenSettingsKind(),
        train_view=TokenTrainView(),
        hint=HINT,
        make_view=TokenResultsView,
    )
