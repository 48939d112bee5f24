"""Numbers as people read them (lib/numbers.py)."""

import pytest

from municipium.lib.numbers import format_number, format_share


@pytest.mark.parametrize("language", ["en", "pl", "sr", "bg", "lt", "fa"])
def test_a_small_negative_value_rounded_to_zero_shows_no_minus_sign(language):
    # issue 19: "-0.0" on pages and in tables for a change of -0.04.
    for text in (format_number(-0.04, 1, language), format_number(-0.4, 0, language), format_share(-0.3, 0, language)):
        assert "-" not in text and "−" not in text and "\u200e-" not in text, (language, text)


def test_a_real_negative_value_keeps_its_sign():
    assert format_number(-0.06, 1, "en") == "-0.1"
    assert format_number(-1234.5, 1, "pl").startswith(("-", "−"))
