"""The one way numbers are written in the views: probabilities and shares as percent, with units.

Every table, bar label, tooltip and readout goes through here, so a probability never reads "0.000924"
in one place and "0.09 %" in another.
"""

from __future__ import annotations

import math

PROBABILITY_NOTE = (
    "Probability: the model's softmax over its whole vocabulary at that position"
    " (a sentence's joint probability is the product of its steps)."
)


def percent(p: float) -> str:
    """A probability or share as percent: three significant digits, scientific only below 0.01 %."""
    if math.isnan(p):
        return "–"
    value = p * 100.0
    size = abs(value)
    if size == 0.0:
        return "0 %"
    if size >= 99.95 and size <= 100.0:
        return f"{value:.0f} %" if size == 100.0 else f"{value:.1f} %"
    if size >= 10:
        return f"{value:.1f} %"
    if size >= 1:
        return f"{value:.2f} %"
    if size >= 0.1:
        return f"{value:.3f} %"
    if size >= 0.01:
        return f"{value:.4f} %"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)} %"


def nats(x: float) -> str:
    """An entropy (natural log)."""
    return f"{x:.2f} nats"


def tokens(x: float) -> str:
    """A distance or length measured in tokens."""
    return f"{x:.1f} tokens"


def signed(x: float) -> str:
    """A signed raw value (a dot-product term): sign always shown, three significant digits."""
    return f"{x:+.3g}"


def score(x: float) -> str:
    """A metric in [0, 1] that is conventionally read as a fraction (accuracy, F1, precision)."""
    return f"{x:.3f}"


def log_prob(x: float) -> str:
    """A (pseudo-)log-probability in nats: two decimals, so totals and per-token means line up."""
    return f"{x:.2f}"


def perplexity(x: float) -> str:
    """A perplexity: one decimal while short, three significant digits once it runs into the millions."""
    return f"{x:.1f}" if x < 1e6 else f"{x:.3g}"


def log_ratio(x: float) -> str:
    """A natural-log ratio ln(p / q): sign always shown, two decimals (0 = no change)."""
    return f"{x:+.2f}"
