"""Numbers as each of our languages writes them: one formatter for pages, tables, charts,
spreadsheets' display strings and PDF reports, so that they agree (DESIGN principle 5).

Babel knows the separators (Polish and Lithuanian use a decimal comma and a narrow space for
thousands, Serbian and Bulgarian a decimal comma too). It leaves digits Latin for Persian by
default, so Persian digits (۰–۹) and the Persian separators are put in here, in one place.
"""

from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import NumberPattern, get_decimal_symbol, get_group_symbol, parse_pattern
from django.utils.translation import get_language

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
# Persian writes the decimal separator ٫ and the thousands separator ٬; Babel's "fa" locale
# with Latin digits gives "." and ",", which would read as Western numbers in Persian text.
# The minus is CLDR's for Persian: a left-to-right mark before "−", so that in right-to-left
# text the sign stays on the number's left, not drifting to its right.
PERSIAN_MINUS = "\u200e\u2212"
PERSIAN_SEPARATORS = str.maketrans({".": "٫", ",": "٬", "-": PERSIAN_MINUS, "%": "٪"})


def _language(language: str | None) -> str:
    return (language or get_language() or "en").split("-")[0]


def localise_digits(text: str, language: str | None = None) -> str:
    """Write the digits (and percent signs) of already formatted text in the language's own:
    a year, a count, a scale such as "0–100" or a unit such as "%"."""
    if _language(language) == "fa":
        return text.translate(PERSIAN_DIGITS).replace("%", "٪")
    return text


def separator(language: str | None = None) -> str:
    """The mark between the parts of a line ("Kruševac · 2024"). Persian writes its zero as a
    dot (۰), so a middle dot beside Persian digits reads as a zero: it takes the Persian comma."""
    return "، " if _language(language) == "fa" else " · "


def comma(language: str | None = None) -> str:
    """The comma between the items of a list ("4, 5"); Persian has its own (۴، ۵)."""
    return "، " if _language(language) == "fa" else ", "


def item_separator(language: str | None = None) -> str:
    """The mark between items that may be numbers ("smallest of (a, 0.5)"): where the
    language writes a decimal comma ("0,5") a comma between items would run into it, so those
    languages part items with a semicolon ("a; 0,5"); Persian has its own comma (۰٫۵، a)."""
    return _item_separator(_language(language))


@lru_cache(maxsize=16)
def _item_separator(language: str) -> str:
    if language == "fa":
        return "، "
    decimal = Locale.parse(language).number_symbols.get("latn", {}).get("decimal", ".")
    return "; " if decimal == "," else ", "


@lru_cache(maxsize=16)
def _locale(language: str) -> Locale:
    # Persian takes its separators and digits from the tables above, the rest from English.
    return Locale.parse("en" if language == "fa" else language)


@lru_cache(maxsize=64)
def _pattern(decimals: int, grouping: bool, percent: str = "") -> NumberPattern:
    # Parsed once: a profile page formats hundreds of numbers.
    text = ("#,##0" if grouping else "0") + ("." + "0" * decimals if decimals > 0 else "")
    return parse_pattern(text + percent)


@lru_cache(maxsize=16)
def _percent_suffix(language: str) -> str:
    """The percent sign as the language writes it after a number: "45,6 %" in Lithuanian
    (a no-break space, as CLDR and the translations write it), "45,6%" in the others."""
    pattern = Locale.parse("en" if language == "fa" else language).percent_formats[None].pattern
    return "\u00a0%" if "\u00a0%" in pattern or " %" in pattern else "%"


def _write(text: str, language: str) -> str:
    if language == "fa":
        return text.translate(PERSIAN_SEPARATORS).translate(PERSIAN_DIGITS)
    return text


def _no_negative_zero(value, decimals: int):
    """-0.04 shown with one decimal is 0.0, not "-0.0": a sign on a zero tells the reader
    of a fall that the shown figure does not have."""
    if value == 0:
        return 0  # -0.0 too, which compares equal to 0 and would print its sign
    if value < 0:
        # Rounded as it is shown: the decimal text half to even, as Babel and format_number
        # do (round() on the binary value took -0.05 to -0.1 while the page showed "-0.0").
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        if number.is_finite() and number.quantize(Decimal(10) ** -decimals, rounding=ROUND_HALF_EVEN) == 0:
            return 0
    return value


def rounded(value, decimals: int | None = 1) -> float | None:
    """The number `format_number` shows, as a number: what a download "rounded as shown"
    holds. Babel rounds the decimal text of the value half to even, so this does too (Python's
    round() works on the binary value, and 0.125 would not always agree); no negative zero."""
    if value is None:
        return None
    decimals = 0 if decimals is None else int(decimals)
    exact = Decimal(str(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    return float(exact) + 0.0 if exact else 0.0


@lru_cache(maxsize=16)
def _separators(language: str) -> tuple[str, str]:
    """The locale's decimal and group symbols, as Babel's patterns write them."""
    locale = _locale(language)
    return get_decimal_symbol(locale), get_group_symbol(locale)


def _babel_number(value, decimals: int, language: str, grouping: bool) -> str:
    """`format_number` through Babel's pattern: the reference `format_number` follows (and the
    way it takes for what its short cut does not handle)."""
    return _pattern(decimals, grouping).apply(value, _locale(language), group_separator=grouping)


def format_number(value, decimals: int | None = 1, language: str | None = None, *, grouping: bool = True) -> str:
    """A number for people: fixed decimals, the locale's separators and digits. None → "–".

    What Babel's pattern "#,##0.0…" gives (`_babel_number`; a test holds them equal), written
    out here for finite numbers: a profile or an indicator page formats a few thousand numbers,
    and Babel's general pattern machinery takes twice as long (5-6 µs a number; issue 18)."""
    if value is None:
        return "–"
    language = _language(language)
    decimals = 0 if decimals is None else int(decimals)
    value = _no_negative_zero(value, decimals)
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        return _write(_babel_number(value, decimals, language, grouping), language)
    point, group = _separators(language)
    rounded = (
        abs(number).normalize().quantize(_QUANTA[decimals] if decimals < len(_QUANTA) else Decimal(10) ** -decimals)
    )
    whole, _dot, fraction = f"{rounded:f}".partition(".")
    if grouping and len(whole) > 3:
        head = len(whole) % 3 or 3
        whole = group.join([whole[:head], *(whole[i : i + 3] for i in range(head, len(whole), 3))])
    text = ("-" if number.is_signed() else "") + whole
    if decimals > 0:
        text += point + fraction.ljust(decimals, "0")
    return _write(text, language)


_QUANTA = [Decimal(10) ** -d for d in range(10)]


def format_share(value, decimals: int = 0, language: str | None = None) -> str:
    """A share given as 0..100 (not 0..1), with the locale's percent sign."""
    if value is None:
        return "–"
    language = _language(language)
    value = _no_negative_zero(value, decimals)
    pattern = _pattern(decimals, True, percent=_percent_suffix(language))
    return _write(pattern.apply(value / 100, _locale(language)), language)


@lru_cache(maxsize=16)
def d3_locale(language: str | None = None) -> dict:
    """The d3-format locale for Vega charts (axes, tooltips), from the same Babel data."""
    language = _language(language)
    if language == "fa":
        return {
            "decimal": "٫",
            "thousands": "٬",
            "grouping": [3],
            "currency": ["", " ﷼"],
            "numerals": list("۰۱۲۳۴۵۶۷۸۹"),
            "minus": PERSIAN_MINUS,
            "percent": "٪",
        }
    symbols = Locale.parse(language).number_symbols.get("latn", {})
    return {
        "decimal": symbols.get("decimal", "."),
        "thousands": symbols.get("group", ","),
        "grouping": [3],
        "currency": ["", ""],
        "minus": symbols.get("minusSign", "-"),
        "percent": _percent_suffix(language).replace("%", symbols.get("percentSign", "%")),
    }


def format_money(value, currency: str, language: str | None = None, *, decimals: int | None = None) -> str:
    """An amount in a currency as the language writes it (CLDR's pattern and symbol: "1 234,50
    zł", "€1,234.50", "‎ریال ۱٬۲۳۴"), with the currency's usual decimals (none for the rial)
    unless `decimals` says otherwise. None → "–"."""
    import copy

    from babel.numbers import format_currency, get_currency_precision

    if value is None:
        return "–"
    language = _language(language)
    locale = Locale.parse(language)
    digits = get_currency_precision(currency) if decimals is None else int(decimals)
    pattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    value = _no_negative_zero(value, digits)
    text = format_currency(value, currency, format=pattern, locale=locale, currency_digits=False)
    return _write(text, language)
