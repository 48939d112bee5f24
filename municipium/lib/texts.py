"""Catalogue texts stored per language.

Names, definitions and descriptions of units, variables and indicators are data, not UI
strings, so they do not go through gettext: each is a JSON object {"en": ..., "pl": ...}.
`pick` chooses the reader's language and says when it had to fall back, so pages can mark
a fallback instead of silently showing another language.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from municipium.lib import numbers

FALLBACK_ORDER = ("en",)


@dataclass(frozen=True)
class Picked:
    text: str
    language: str
    is_fallback: bool

    def __str__(self) -> str:
        return self.text


def pick(texts: dict | str | None, language: str | None = None) -> Picked:
    if isinstance(texts, str):
        return Picked(texts, "", False)
    texts = texts or {}
    language = (language or get_language() or settings.LANGUAGE_CODE).split("-")[0]
    if texts.get(language):
        return Picked(texts[language], language, False)
    for code in (*FALLBACK_ORDER, *settings.LANGUAGE_CODES, *sorted(texts)):
        if texts.get(code):
            return Picked(texts[code], code, True)
    return Picked("", "", True)


def normalise(texts: dict | str | None) -> dict:
    """Accept a plain string (taken as English) or a dict; drop empty entries."""
    if texts is None:
        return {}
    if isinstance(texts, str):
        return {"en": texts} if texts.strip() else {}
    return {str(k): str(v).strip() for k, v in texts.items() if v is not None and str(v).strip()}


def in_every_language(make) -> dict:
    """A catalogue text in each of the six languages, made from translated UI strings:
    `make(code)` is called with each language active (the names of the variables the
    surveys and the tariffs write to the catalogue)."""
    from django.utils import translation

    texts = {}
    for code in settings.LANGUAGE_CODES:
        with translation.override(code):
            texts[code] = str(make(code))
    return texts


def marked(texts: dict | str | None, fallback: str = "") -> str:
    """A catalogue text in the reader's language for a page (the `{% text %}` tag); when it
    had to fall back to another language, the text is marked with that language (lang
    attribute and a visible tag: safe HTML). Plain text otherwise, for the page to escape."""
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


def plain(texts: dict | str | None) -> str:
    """A catalogue text in the reader's language as plain text (titles, attributes); one
    without letters ("%", "0–100") in the language's own digits and percent sign."""
    found = pick(texts).text
    return found if any(c.isalpha() for c in found) else numbers.localise_digits(found)
