"""Template helpers shared by every page: numbers per locale, catalogue texts with a marked
fallback, and chart specs handed to the browser as JSON data (never inline script)."""

from django import template

from municipium.lib import numbers
from municipium.lib import texts as texts_

register = template.Library()


@register.filter
def num(value, decimals=1):
    """{{ value|num:indicator.decimals }} — the locale's separators and digits."""
    return numbers.format_number(value, decimals)


@register.filter
def digits(value):
    """Digits of any text (years, counts, codes in prose) in the language's own digits."""
    return numbers.localise_digits(str(value))


@register.simple_tag
def sep():
    """{% sep %} — the mark between the parts of a line, " · " ("، " in Persian)."""
    return numbers.separator()


@register.simple_tag
def comma():
    """{% comma %} — the comma between the items of a list, ", " ("، " in Persian)."""
    return numbers.comma()


@register.filter
def money(value, currency):
    """{{ amount|money:study.currency }} — the locale's pattern, symbol and digits."""
    return numbers.format_money(value, currency)


@register.filter
def fraction(value, decimals=0):
    """{{ 0.034|fraction:1 }} — a share given as 0..1 written as a percentage ("3.4%")."""
    return numbers.format_share(None if value is None else 100 * value, decimals)


@register.filter
def share(value, decimals=0):
    return numbers.format_share(value, decimals)


@register.simple_tag
def text(texts, fallback=""):
    """A catalogue text in the reader's language; when it had to fall back to another
    language, the text is marked with that language (lang attribute and a visible tag)."""
    return texts_.marked(texts, fallback)


@register.filter
def plain(texts):
    """A catalogue text in the reader's language as plain text (titles, attributes); one
    without letters ("%", "0–100") in the language's own digits and percent sign."""
    return texts_.plain(texts)
