"""Find units, groups and indicators by name in any of the six languages, or by code.

Names are per-language JSON; matching is done here rather than in SQL because SQLite's
LIKE folds only ASCII case (Cyrillic, Lithuanian and Persian would not match) and JSON text
is stored escaped there. A few thousand names per request is cheap.
"""

import unicodedata
from dataclasses import dataclass

from municipium.catalog.models import Indicator, ServiceArea
from municipium.lib.texts import pick
from municipium.places.models import Group, Unit


def fold(text: str) -> str:
    """Case- and accent-insensitive form: "Łódź" and "lodz", "Ниш" and "ниш" meet."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    # Letters NFKD does not decompose but people type without their marks.
    return text.translate(str.maketrans({"ł": "l", "đ": "d", "ı": "i", "ي": "ی", "ك": "ک"}))


@dataclass(frozen=True)
class Hit:
    kind: str  # unit, group, indicator, area
    code: str
    label: str
    matched: str  # the text that matched, possibly in another language than the page's


def _matches(query: str, code: str, names: dict) -> str | None:
    if query in fold(code):
        return code
    for text in (names or {}).values():
        if query in fold(str(text)):
            return str(text)
    return None


def search(query: str, limit: int = 20) -> list[Hit]:
    query = fold(query.strip())
    if len(query) < 2:
        return []
    hits: list[Hit] = []
    sources = [
        ("unit", Unit.objects.values_list("code", "name")),
        ("group", Group.objects.values_list("code", "name")),
        ("indicator", Indicator.objects.values_list("code", "name")),
        ("area", ServiceArea.objects.values_list("code", "name")),
    ]
    for kind, rows in sources:
        found = 0
        for code, names in rows:
            matched = _matches(query, code, names)
            if matched is not None:
                hits.append(Hit(kind, code, pick(names).text or code, matched))
                found += 1
                if found >= limit:
                    break
    return hits
