"""A tagged text as a reader sees it: entities on the colour of their type with the type after them (tags
without entities, such as parts of speech, in small type under each word), every word's tag and score in
its tooltip, and the words the tagger is unsure of underlined.

The text is shown as typed (its spaces and line breaks kept); what was drawn is kept in `chips` (each
entity: its text, type and place in the document) and `words` for the tooltips and the tests.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtGui import QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QTextEdit, QWidget

from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.plot_theme import PlotColours, register
from lmstudio_app.ui.taskviews.colours import span_colour, text_colour
from lmstudio_app.ui.theme import MESSAGE_COLOURS, is_dark

UNSURE = 0.5  # a word tagged with a lower probability than this is underlined


@dataclass(frozen=True)
class Chip:
    """An entity as drawn: its text, type, and first and last document positions (the type label after)."""

    text: str
    label: str
    start: int
    end: int


def type_order(tags: list[str]) -> list[str]:
    """The entity types of a tag list, in order of first appearance (each keeps its colour)."""
    return list(dict.fromkeys(t.partition("-")[2] for t in tags if t != "O" and "-" in t))


def word_tooltip(word: dict, entity: dict | None) -> str:
    lines = [f"<b>{html.escape(word['word'])}</b>: {html.escape(word['tag'])}, {fmt.percent(word['score'])}"]
    if entity is not None:
        lines.append(
            f"part of the {html.escape(entity['label'])} entity “{html.escape(entity['text'])}” "
            f"(mean score {fmt.percent(entity['score'])})"
        )
    if word["score"] < UNSURE:
        lines.append("unsure: the tagger gave this tag less than 50 %")
    return "<br>".join(lines)


class TaggedText(QTextEdit):
    """Read-only; `show_tagged(text, tokens, entities)` with core.tokens.predict.TaggedText's fields."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setPlaceholderText("The tagged text appears here.")
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.25 if font.pointSizeF() > 0 else 12)  # reading size
        self.setFont(font)
        self.types: list[str] = []  # entity types in colour order (the tagger's)
        self.entity_tags = True
        self.chips: list[Chip] = []
        self.words: list[dict] = []
        self._shown: tuple[str, list[dict], list[dict]] | None = None
        register(self)

    def set_types(self, tags: list[str], entity_tags: bool) -> None:
        """The tagger's tags (their entity types keep one colour each) and whether they mark entities."""
        self.types, self.entity_tags = type_order(tags), entity_tags

    def colour_of(self, label: str):  # noqa: ANN201 (QColor)
        if label not in self.types:
            self.types.append(label)
        return span_colour(self.types.index(label))

    def apply_plot_theme(self, _c: PlotColours) -> None:
        if self._shown is not None:
            self.show_tagged(*self._shown)

    def show_tagged(self, text: str, tokens: list[dict], entities: list[dict]) -> None:
        self._shown = (text, tokens, entities)
        self.clear()
        self.chips, self.words = [], list(tokens)
        cursor = QTextCursor(self.document())
        plain = QTextCharFormat()
        plain.setForeground(text_colour())
        owner = {}
        for e, entity in enumerate(entities):
            for i, token in enumerate(tokens):
                if entity["start"] <= token["start"] < entity["end"]:
                    owner[i] = e
        at, i = 0, 0
        while i < len(tokens):
            token = tokens[i]
            cursor.insertText(text[at : token["start"]], plain)
            if i in owner:
                e = owner[i]
                entity = entities[e]
                members = [j for j in range(i, len(tokens)) if owner.get(j) == e]
                first = cursor.position()
                chip = self._chip_format(entity["label"])
                for n, j in enumerate(members):
                    if n:
                        cursor.insertText(text[tokens[members[n - 1]]["end"] : tokens[j]["start"]], chip)
                    cursor.insertText(tokens[j]["word"], self._word_format(tokens[j], entity, chip))
                end = cursor.position()
                label = QTextCharFormat(chip)
                label.setFontWeight(QFont.Weight.Bold)
                label.setFontPointSize(max(6.0, self.font().pointSizeF() * 0.75))
                label.setToolTip(f"entity type {entity['label']}")
                cursor.insertText(f" {entity['label']}", label)
                self.chips.append(
                    Chip(
                        text[tokens[members[0]]["start"] : tokens[members[-1]]["end"]],
                        entity["label"],
                        first,
                        end,
                    )
                )
                at, i = tokens[members[-1]]["end"], members[-1] + 1
                continue
            cursor.insertText(token["word"], self._word_format(token, None, plain))
            if not self.entity_tags:
                under = QTextCharFormat(plain)
                under.setVerticalAlignment(QTextCharFormat.VerticalAlignment.AlignSubScript)
                under.setToolTip(f"{token['tag']}, {fmt.percent(token['score'])}")
                cursor.insertText(token["tag"], under)
            at, i = token["end"], i + 1
        cursor.insertText(text[at:], plain)

    def _chip_format(self, label: str) -> QTextCharFormat:
        chip = QTextCharFormat()
        chip.setBackground(self.colour_of(label))
        chip.setForeground(text_colour())
        return chip

    def _word_format(self, token: dict, entity: dict | None, base: QTextCharFormat) -> QTextCharFormat:
        style = QTextCharFormat(base)
        style.setToolTip(word_tooltip(token, entity))
        if token["score"] < UNSURE:
            style.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            style.setUnderlineColor(MESSAGE_COLOURS[is_dark()]["warning"])
        return style

    def shown_text(self) -> str:
        return self.toPlainText()


def legend_html(types: list[str]) -> str:
    """The entity types as coloured chips, in the view's colour order."""
    chips = " ".join(
        f"<span style='background-color: {span_colour(i).name()}; color: {text_colour().name()}'>"
        f"&nbsp;{html.escape(label)}&nbsp;</span>"
        for i, label in enumerate(types)
    )
    return f"Entity types: {chips}" if types else ""


class Legend(QLabel):
    """What the colours and underlines mean; redrawn with the theme."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.types: list[str] = []
        self.entity_tags = True
        register(self)

    def set_types(self, types: list[str], entity_tags: bool) -> None:
        self.types, self.entity_tags = list(types), entity_tags
        self._draw()

    def apply_plot_theme(self, _c: PlotColours) -> None:
        self._draw()

    def _draw(self) -> None:
        how = legend_html(self.types) if self.entity_tags else "Each word's tag is written under it."
        self.setText(
            f"{how} &nbsp; Hover a word for its tag and score; a wavy underline marks a tag given less "
            "than 50 %."
        )
