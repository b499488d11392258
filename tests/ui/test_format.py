"""One number format: percent with three significant digits, scientific only below 0.01 %."""

from __future__ import annotations

import pytest

from lmstudio_app.ui import format as fmt


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (1.0, "100 %"),
        (0.8734, "87.3 %"),
        (0.0512, "5.12 %"),
        (0.00924, "0.924 %"),
        (0.000924, "0.0924 %"),
        (0.0001, "0.0100 %"),
        (9.05e-05, "9.1e-3 %"),
        (0.0, "0 %"),
    ],
)
def test_percent(p: float, text: str) -> None:
    assert fmt.percent(p) == text


def test_units_are_named() -> None:
    assert (
        fmt.nats(0.011) == "0.01 nats" and fmt.tokens(2.345) == "2.3 tokens" and fmt.signed(-1.214) == "-1.21"
    )
