"""One scored sentence token by token: each token coloured by its surprisal, a colour scale, tooltips.

Every token is a label of its own (wrapped like text by a FlowLayout) so it can carry its own tooltip:
the token's log-probability, surprisal and rank and the model's top alternatives. Colours mix the theme's
own background towards one hue (explain/colours.py), so the text keeps its contrast in both themes.
"""

from __future__ import annotations

import html
import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from lmstudio_app.core.score.sentences import SentenceScore, TokenScore
from lmstudio_app.ui import format as fmt
from lmstudio_app.ui.explain.colours import MAX_MIX, POSITIVE, ColourLegend, background, foreground, mix
from lmstudio_app.ui.widgets.flow_layout import FlowLayout


def surprisal_colour(bits: float, scale: float) -> str:
    """The background of a token `bits` surprising, when `scale` bits is the strongest colour."""
    return mix(background(), POSITIVE, MAX_MIX * bits / scale if scale > 0 else 0.0).name()


def token_tooltip(token: TokenScore) -> str:
    """Rich text: the token's numbers, then the model's top alternatives at that position."""
    lines = [
        f"<b>{html.escape(token.token)}</b>",
        f"log-prob {fmt.log_prob(token.log_prob)} (probability {fmt.percent(math.exp(token.log_prob))})",
        f"surprisal {token.surprisal_bits:.2f} bits, rank {token.rank}",
    ]
    if token.top:
        lines.append("Top alternatives:")
        lines += [f"&nbsp;&nbsp;{html.escape(word)}&nbsp;&nbsp;{fmt.percent(p)}" for word, p in token.top]
    return "<br>".join(lines)


class TokenView(QGroupBox):
    """The selected sentence as coloured tokens, for one model; `scale` is shared across the results so
    that the same colour means the same surprisal in every sentence."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.score: SentenceScore | None = None
        self.scale = 0.0
        self.chips: list[QLabel] = []
        self.summary = QLabel(wordWrap=True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.flow_widget = QWidget()
        self.flow = FlowLayout(self.flow_widget)
        self.flow.setContentsMargins(2, 2, 2, 2)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(self.flow_widget)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.legend = ColourLegend()
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.legend)
        self.show_message("Select a sentence to see its tokens coloured by surprisal.")

    def show_message(self, text: str) -> None:
        self.score = None
        self._set_chips([])
        self.summary.setText(text)
        self.legend.hide()

    def show_score(self, score: SentenceScore, scale: float, model: str) -> None:
        self.score, self.scale = score, scale
        self.setTitle(model)
        self.summary.setText(
            f"{score.method}: log-prob {fmt.log_prob(score.log_prob)}, {fmt.log_prob(score.mean_log_prob)} per "
            f"token, perplexity {fmt.perplexity(score.perplexity)}. Hover a token for the model's alternatives."
        )
        self.legend.set_scale(scale, "surprising (surprisal, bits)", signed=False)
        self.legend.show()
        self.restyle()

    def restyle(self) -> None:
        """Colour the tokens (again) in the current theme."""
        if self.score is None:
            return
        self._set_chips(self.score.tokens)
        self.legend.update()

    def _set_chips(self, tokens: list[TokenScore]) -> None:
        while self.chips:
            chip = self.chips.pop()
            self.flow.removeWidget(chip)
            chip.deleteLater()
        text_colour = foreground().name()
        for token in tokens:
            chip = QLabel()
            chip.setTextFormat(Qt.TextFormat.PlainText)
            chip.setText(token.token)
            chip.setStyleSheet(
                f"background-color: {surprisal_colour(token.surprisal_bits, self.scale)}; color: {text_colour};"
                " padding: 2px 3px; border-radius: 3px;"
            )
            chip.setToolTip(token_tooltip(token))
            self.flow.addWidget(chip)
            self.chips.append(chip)
