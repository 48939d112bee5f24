"""Numbers as people read them (lib/numbers.py)."""

import pytest

from municipium.lib.numbers import format_number, format_share, item_separator, rounded


@pytest.mark.parametrize("language", ["en", "pl", "sr", "bg", "lt", "fa"])
def test_a_small_negative_value_rounded_to_zero_shows_no_minus_sign(language):
    # issue 19: "-0.0" on pages and in tables for a change of -0.04.
    texts = (format_number(-0.04, 1, language), format_number(-0.4, 0, language), format_share(-0.3, 0, language))
    # -0.05 shows as 0.0 (the decimal text rounded half to even), so it takes no sign either.
    texts += (format_number(-0.05, 1, language), format_share(-0.5, 0, language))
    # A stored negative zero (a change of 0 times -1) compares equal to 0 and kept its sign.
    texts += (format_number(-0.0, 1, language), format_share(-0.0, 1, language))
    for text in texts:
        assert "-" not in text and "−" not in text and "\u200e-" not in text, (language, text)


def test_a_real_negative_value_keeps_its_sign():
    assert format_number(-0.06, 1, "en") == "-0.1"
    assert format_number(-1234.5, 1, "pl").startswith(("-", "−"))


def test_a_negative_persian_number_carries_the_left_to_right_mark_before_its_minus():
    # issue 11: a bare "−" in right-to-left text may show on the number's right.
    assert format_number(-12.5, 1, "fa") == "\u200e\u2212۱۲٫۵"
    assert format_share(-12.5, 1, "fa") == "\u200e\u2212۱۲٫۵٪"
    assert format_number(-1234, 0, "fa") == "\u200e\u2212۱٬۲۳۴"
    assert format_number(12.5, 1, "fa") == "۱۲٫۵"


def test_the_persian_minus_in_charts_is_the_same_as_on_pages():
    from municipium.lib.numbers import d3_locale

    assert d3_locale("fa")["minus"] == "\u200e\u2212"


def test_a_negative_persian_number_copied_from_a_page_reads_back():
    from municipium.observations.rules import parse_number

    assert parse_number(format_number(-1234.5, 1, "fa"), "fa") == -1234.5


def test_a_scale_and_a_percent_sign_are_written_in_persian_digits():
    from municipium.lib.numbers import localise_digits

    assert localise_digits("0–100", "fa") == "۰–۱۰۰"
    assert localise_digits("%", "fa") == "٪"
    assert localise_digits("0–100 %", "pl") == "0–100 %"


@pytest.mark.parametrize(
    ("value", "decimals"),
    [(0.125, 2), (0.135, 2), (2.5, 0), (3.5, 0), (-1.25, 1), (-0.04, 1), (-0.0, 1), (1234.5678, 1), (1e20, 1), (7, 0)],
)
def test_a_number_rounded_for_a_download_is_the_number_the_page_shows(value, decimals):
    # Downloads "rounded as shown" hold rounded(); the page shows format_number().
    got = rounded(value, decimals)
    assert format_number(got, decimals, "en") == format_number(value, decimals, "en")
    assert float(format_number(value, decimals, "en", grouping=False)) == got
    assert str(got) != "-0.0"


def test_items_that_may_be_numbers_are_parted_so_a_decimal_comma_does_not_run_into_them():
    assert item_separator("en") == ", "
    for language in ("pl", "sr", "bg", "lt"):
        assert "," in format_number(0.5, 1, language) and item_separator(language) == "; "
    assert item_separator("fa") == "، "


def test_format_number_writes_what_babels_pattern_writes():
    """`format_number` writes finite numbers itself (a profile formats thousands): it must
    agree with Babel's pattern, the reference, for every language, precision and grouping."""
    import random
    from decimal import Decimal

    from municipium.lib.numbers import _babel_number, _no_negative_zero, _write

    rng = random.Random(18)
    values = [0, 0.0, -0.0, 1, -1, 5, 0.5, 0.05, -0.05, 0.125, 2.675, 999.95, 1000, 999_999.5, 1e15, 1e-7, 123456789]
    values += [Decimal("12345.675"), Decimal("-0.5")]
    values += [rng.uniform(-1e7, 1e7) for _ in range(300)] + [rng.uniform(-2, 2) for _ in range(200)]
    values += [rng.randint(-(10**9), 10**9) for _ in range(100)]
    for language in ("en", "pl", "sr", "bg", "lt", "fa"):
        for decimals in (0, 1, 2, 3, 12):
            for grouping in (True, False):
                for value in values:
                    expected = _write(
                        _babel_number(_no_negative_zero(value, decimals), decimals, language, grouping), language
                    )
                    assert format_number(value, decimals, language, grouping=grouping) == expected, (
                        value,
                        decimals,
                        language,
                    )
