"""Template helpers shared by every page: numbers per locale, catalogue texts with a marked
fallback, and chart specs handed to the browser as JSON data (never inline script)."""

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from municipium.lib import numbers
from municipium.lib.texts import pick

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
    picked = pick(texts)
    if not picked.text:
        return fallback
    # A text without letters ("%", "0–100") reads the same in every language: no mark, but
    # the language's own digits and percent sign ("٪", "۰–۱۰۰" in Persian).
    if not any(c.isalpha() for c in picked.text):
        return numbers.localise_digits(picked.text)
    if picked.is_fallback and picked.language:
        # The space keeps the mark apart from the text ("% en", not "%en") when copied or read.
        return format_html(
            '<span lang="{}" class="fallback" title="{}">{}</span> '
            '<span class="badge text-bg-light fallback-mark">{}</span>',
            picked.language,
            _("Not yet translated; shown in another language"),
            picked.text,
            picked.language,
        )
    return picked.text


@register.filter
def plain(texts):
    """A catalogue text in the reader's language as plain text (titles, attributes); one
    without letters ("%", "0–100") in the language's own digits and percent sign."""
    found = pick(texts).text
    return found if any(c.isalpha() for c in found) else numbers.localise_digits(found)
