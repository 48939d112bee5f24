"""Checking figures as people enter them: numbers typed in their own language, the
variable's hard limits, and the rules coordinators put on variables (ValidationRule).

Pure functions over plain values, so that the entry form's inline validation, its save
and the tests all ask the same questions the same way. A finding is either an error (the
figure cannot be saved) or a warning (it can, but someone should look at it again).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from django.utils.translation import gettext as _

from municipium.lib import numbers
from municipium.lib.formulas import FormulaError, Ref, parse
from municipium.lib.tabular import COMMA_NUMBER, DOT_NUMBER, GROUPING_SPACES
from municipium.lib.texts import pick

ERROR = "error"
WARNING = "warning"

# Languages that write a decimal comma (and group thousands with spaces or dots).
DECIMAL_COMMA = {"pl", "sr", "bg", "lt"}
# Persian (and Arabic-Indic) digits, read as the Latin digits they are.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


class Finding(NamedTuple):
    severity: str  # ERROR or WARNING
    message: str


class NumberError(ValueError):
    """Text that is not a number in the reader's language; str() says how to write one."""


def _language(language: str | None) -> str:
    from django.utils.translation import get_language

    return (language or get_language() or "en").split("-")[0]


def parse_number(text, language: str | None = None) -> float | None:
    """The number in `text` as a person writing `language` types it; None when blank.

    Polish, Serbian, Bulgarian and Lithuanian write 1 234,5 (dots may group thousands:
    1.234,5); English 1,234.5; Persian ۱۲۳۴٫۵ (Latin digits are accepted too). A number
    written the other way round is still read when it cannot mean anything else (1.5 in
    Polish), never guessed when it could (1.234 is a thousand two hundred thirty-four in
    Polish and one point two three four in English). Raises NumberError otherwise.
    """
    if text is None:
        return None
    raw = str(text).strip()
    if not raw:
        return None
    language = _language(language)
    cleaned = raw.translate(_DIGITS).replace("\u2212", "-").replace("\u2013", "-")
    if language == "fa":
        cleaned = cleaned.replace("٫", ".").replace("٬", "")
    cleaned = re.sub(GROUPING_SPACES, "", cleaned)
    conventions = [(COMMA_NUMBER, ","), (DOT_NUMBER, ".")]
    if language not in DECIMAL_COMMA:
        conventions.reverse()
    for pattern, decimal in conventions:
        if re.match(pattern, cleaned):
            if decimal == ",":
                cleaned = cleaned.replace(".", "").replace(",", ".")
            else:
                cleaned = cleaned.replace(",", "")
            try:
                value = float(cleaned)
            except ValueError:
                break
            if math.isfinite(value):
                return value
            break
    raise NumberError(
        _("'%(text)s' is not a number; write it like %(example)s")
        % {"text": raw[:40], "example": numbers.format_number(1234.5, 1, language)}
    )


def show(value: float | None, language: str | None = None) -> str:
    """A figure in a message: as many decimals as it has, up to three."""
    if value is None:
        return "–"
    decimals = 0
    while decimals < 3 and abs(value * 10**decimals - round(value * 10**decimals)) > 1e-9:
        decimals += 1
    return numbers.format_number(value, decimals, language)


# ----------------------------------------------------------------------------------------
# Checks that apply by default (issue 19): plausibility the starter catalogue's variables
# carry without anyone writing a rule. Coordinators' rules come on top; a coordinator's
# change rule on a variable replaces the default ten-fold check.


class DefaultRule(NamedTuple):
    """A rule in the shape of a ValidationRule, made in code rather than stored."""

    kind: str
    expression: str = ""
    minimum: float | None = None
    maximum: float | None = None
    threshold: float | None = None
    severity: str = WARNING
    message: dict = {}
    group_id: None = None


# A part that cannot be larger than its whole: {part: whole} over the starter's codes.
PARTS = {
    "water_billed": "water_produced",
    "water_billed_households": "water_billed",
    "water_samples_compliant": "water_samples_total",
    "wastewater_treated": "wastewater_collected",
    "water_pop_served": "population",
    "sewer_pop_served": "population",
    "waste_separate": "waste_collected",
    "waste_recycled": "waste_collected",
    "waste_landfilled": "waste_collected",
    "waste_pop_covered": "population",
    "roads_paved_length": "roads_length",
    "roads_good_length": "roads_length",
    "housing_vacant": "housing_dwellings",
    "capex": "expenditure_total",
    "capex_external": "capex",
    "permits_on_time": "permits_issued",
    "projects_on_time": "projects_completed",
    "projects_on_budget": "projects_completed",
    "geo_buildings_addressed": "geo_buildings_total",
    "geo_surveys_on_time": "geo_surveys_received",
    "geo_requests_online": "geo_requests_total",
    "revenue_own": "revenue_total",
    "tax_payments_online": "tax_payments_total",
}
JUMP = 10  # a figure ten times (or a tenth of) the previous period's is worth a second look


def default_rules(code: str, rules: Iterable, names: Mapping[str, str], language: str | None = None) -> list:
    """The checks a variable gets by default, besides its coordinators' `rules`: the
    ten-fold jump unless they set a change rule, and that a part is no larger than its
    whole (`names`: variable code -> name in the reader's language)."""
    found: list = []
    if not any(rule.kind == "change" for rule in rules):
        found.append(DefaultRule("jump", threshold=JUMP))
    whole = PARTS.get(code)
    if whole is not None:
        text = _("%(part)s cannot be larger than %(whole)s; please check both figures") % {
            "part": names.get(code, code),
            "whole": names.get(whole, whole),
        }
        found.append(DefaultRule("consistency", expression=f"{code} <= {whole}", message={_language(language): text}))
    return found


def _rule_message(rule, default: str, language: str | None) -> str:
    picked = pick(getattr(rule, "message", None) or {}, language).text
    return picked or default


def check_value(
    value: float | None,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    previous: float | None = None,
    rules: Iterable = (),
    language: str | None = None,
) -> list[Finding]:
    """Findings on one figure: the variable's hard limits (errors), then each range and
    change rule given (kind "range" or "change"; consistency rules are `check_consistency`'s)."""
    if value is None:
        return []
    found: list[Finding] = []
    if minimum is not None and value < minimum:
        found.append(
            Finding(
                ERROR,
                _("%(value)s is below the smallest allowed value, %(minimum)s")
                % {"value": show(value, language), "minimum": show(minimum, language)},
            )
        )
    if maximum is not None and value > maximum:
        found.append(
            Finding(
                ERROR,
                _("%(value)s is above the largest allowed value, %(maximum)s")
                % {"value": show(value, language), "maximum": show(maximum, language)},
            )
        )
    for rule in rules:
        if rule.kind == "range":
            low, high = rule.minimum, rule.maximum
            if (low is not None and value < low) or (high is not None and value > high):
                default = _("%(value)s is outside the usual range, %(minimum)s to %(maximum)s") % {
                    "value": show(value, language),
                    "minimum": show(low, language),
                    "maximum": show(high, language),
                }
                found.append(Finding(rule.severity, _rule_message(rule, default, language)))
        elif rule.kind == "change" and previous is not None and rule.threshold is not None:
            change = relative_change(value, previous)
            if change is not None and abs(change) > rule.threshold:
                if math.isfinite(change):
                    default = _(
                        "%(change)s %% change from the previous period (%(previous)s); "
                        "more than %(threshold)s %% is unusual, please check"
                    ) % {
                        "change": show(round(change, 1), language),
                        "previous": show(previous, language),
                        "threshold": show(rule.threshold, language),
                    }
                else:
                    default = _("the previous period had %(previous)s; please check this figure") % {
                        "previous": show(previous, language)
                    }
                found.append(Finding(rule.severity, _rule_message(rule, default, language)))
        elif rule.kind == "jump" and previous and value and (value > 0) == (previous > 0):
            ratio = value / previous
            if ratio >= rule.threshold:
                message = _(
                    "%(value)s is more than ten times the previous period's figure (%(previous)s); please check it"
                )
            elif ratio <= 1 / rule.threshold:
                message = _(
                    "%(value)s is less than a tenth of the previous period's figure (%(previous)s); please check it"
                )
            else:
                continue
            found.append(
                Finding(
                    rule.severity,
                    message % {"value": show(value, language), "previous": show(previous, language)},
                )
            )
    return found


def relative_change(value: float, previous: float) -> float | None:
    """Change in per cent of the previous value; from 0 to anything else counts as
    infinitely large, 0 to 0 as none."""
    if previous == 0:
        return 0.0 if value == 0 else math.inf
    return 100 * (value - previous) / abs(previous)


def check_consistency(
    rule,
    values: Mapping[tuple[str, str], float | None],
    previous: Mapping[tuple[str, str], float | None] | None = None,
    language: str | None = None,
) -> Finding | None:
    """A finding when the rule's condition is false for `values` ((variable code,
    category) -> value, category "" for the total; `previous` for lag()); None when it
    holds or cannot be decided yet because an input is missing."""
    try:
        formula = parse(rule.expression)
    except FormulaError:
        return None  # refused in the admin; an old broken rule must not break data entry
    result = formula.evaluate(lambda ref, lag: _lookup(ref, lag, values, previous or {}))
    if result is None or result != 0:
        return None
    default = _("this does not hold: %(condition)s") % {"condition": formula.pretty()}
    return Finding(rule.severity, _rule_message(rule, default, language))


def _lookup(ref: Ref, lag: int, values, previous) -> float | None:
    source = values if lag == 0 else previous if lag == 1 else {}
    if ref.category is not None:
        return source.get((ref.name, ref.category))
    if ref.summed is not None:
        parts = [
            v
            for (name, category), v in source.items()
            if name == ref.name and category and (not ref.summed or category in ref.summed)
        ]
        if not parts or any(v is None for v in parts):
            return None
        return sum(parts)
    return source.get((ref.name, ""))


def referenced_codes(rules: Iterable) -> set[str]:
    """Variable codes the consistency rules read (to fetch those outside the form)."""
    codes: set[str] = set()
    for rule in rules:
        if rule.kind == "consistency":
            try:
                codes |= set(parse(rule.expression).names)
            except FormulaError:
                continue
    return codes
