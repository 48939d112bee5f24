"""Which colour a value gets: good, middle, poor, or none — one rule for profiles, maps,
charts and reports.

Absolute thresholds and targets, where the group or catalogue set them, take precedence
over the relative position in the group (quartiles), because "better than most" can still
be bad and "worse than most" can still meet the standard. Polarity decides which side is
good; a neutral indicator is never coloured.
"""

from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from municipium.lib import numbers

GOOD, MIDDLE, POOR, NONE = "good", "middle", "poor", "none"
# Fewer members than this and quartiles say nothing worth a colour.
MIN_MEMBERS_FOR_QUARTILES = 4

LABELS = {GOOD: _("Good"), MIDDLE: _("Middle"), POOR: _("Poor"), NONE: _("No comparison")}
BASES = {
    "thresholds": _("by the set thresholds"),
    "target": _("by the target"),
    "quartiles": _("by the group's quartiles"),
    "": "",
}


@dataclass(frozen=True)
class Band:
    band: str  # good | middle | poor | none
    basis: str  # thresholds | target | quartiles | ""

    @property
    def label(self) -> str:
        return str(LABELS[self.band])

    @property
    def explanation(self) -> str:
        return f"{LABELS[self.band]} {BASES[self.basis]}".strip()

    @property
    def css(self) -> str:
        return f"band-{self.band}"


def _better(a: float, b: float, higher: bool) -> bool:
    """a at least as good as b."""
    return a >= b if higher else a <= b


def standard_band(value: float | None, indicator) -> Band:
    """The band against an absolute standard (the set thresholds, else the target); NONE
    when the indicator has neither. Says nothing about the group."""
    polarity = indicator.polarity
    if value is None or polarity == "neutral":
        return Band(NONE, "")
    higher = polarity == "higher_is_better"
    thresholds = indicator.thresholds or {}
    good, poor = thresholds.get("good"), thresholds.get("poor")
    if good is not None or poor is not None:
        if good is not None and _better(value, float(good), higher):
            return Band(GOOD, "thresholds")
        if poor is not None and _better(float(poor), value, higher):
            return Band(POOR, "thresholds")
        return Band(MIDDLE, "thresholds")
    if indicator.target is not None:
        return Band(GOOD if _better(value, indicator.target, higher) else POOR, "target")
    return Band(NONE, "")


def peer_band(value: float | None, indicator, statistic=None) -> Band:
    """The band among the group: above the better quartile, below the worse one, or in the
    middle half. NONE for neutral indicators and groups too small for quartiles."""
    polarity = indicator.polarity
    if value is None or polarity == "neutral":
        return Band(NONE, "")
    higher = polarity == "higher_is_better"
    if statistic is None or (statistic.n or 0) < MIN_MEMBERS_FOR_QUARTILES or statistic.p25 is None:
        return Band(NONE, "")
    best, worst = (statistic.p75, statistic.p25) if higher else (statistic.p25, statistic.p75)
    if _better(value, best, higher):
        return Band(GOOD, "quartiles")
    if _better(worst, value, higher):
        return Band(POOR, "quartiles")
    return Band(MIDDLE, "quartiles")


def band(value: float | None, indicator, statistic=None) -> Band:
    """The band of `value` for `indicator`, against the group `statistic` (GroupStatistic or
    anything with n, p25, p75) when no absolute standard applies: the one colour a value
    gets on maps and charts. Pages that have room show both assessments apart
    (`standard_band`, `peer_band`), so "best in the group" and "poor by the standard" are
    never read as one contradictory verdict."""
    standard = standard_band(value, indicator)
    if standard.band != NONE or value is None or indicator.polarity == "neutral":
        return standard
    return peer_band(value, indicator, statistic)


def rank_text(rank: int | None, n: int, polarity: str) -> str:
    """A rank as a reader takes it: in the direction of polarity ("best of 6", "2 of 6",
    "last of 6"; rank 1 is the best by the indicator's polarity), or by size for a neutral
    indicator, where no place is better than another. "–" without a rank."""
    if rank is None:
        return "–"
    place, of = numbers.localise_digits(str(rank)), numbers.localise_digits(str(n))
    if polarity == "neutral":
        return gettext("%(rank)s of %(n)s by size") % {"rank": place, "n": of}
    if rank == 1:
        return gettext("best of %(n)s") % {"n": of}
    if rank == n:
        return gettext("last of %(n)s") % {"n": of}
    return gettext("%(rank)s of %(n)s") % {"rank": place, "n": of}
