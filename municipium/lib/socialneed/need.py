"""Need, gap, coverage and utilisation of a social service, and the roll-up to a district.

Normative need is Σ over the target groups of population × norm, the norm being places per
`per` people of the group (a norms table says e.g. 4.5 places of residential care per 1,000
people aged 65+). Expressed need is the waiting list. Gap = need − capacity (positive: a
shortfall); coverage = capacity / need; utilisation = users / capacity. A blank stays blank:
coverage without need, utilisation without capacity are None, never zero (DESIGN principle 2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


class NeedError(ValueError):
    pass


@dataclass(frozen=True)
class Thresholds:
    """When a line is flagged. Coverage below `under` is under-supply, above `over` is
    over-supply; a full service (utilisation ≥ `full`) with a waiting list shows unmet
    expressed need even where the norm is met."""

    under: float = 0.9
    over: float = 1.2
    full: float = 0.95

    def __post_init__(self) -> None:
        if not (0 < self.under <= 1 <= self.over) or not (0 < self.full <= 1):
            raise NeedError("thresholds must satisfy 0 < under ≤ 1 ≤ over and 0 < full ≤ 1")


def normative_need(terms: Iterable[tuple[float, float, float]]) -> float:
    """Σ population × places / per, over (population, places, per) terms."""
    total = 0.0
    for population, places, per in terms:
        if population < 0 or places < 0:
            raise NeedError("a population or a norm cannot be negative")
        if per <= 0:
            raise NeedError("a norm is places per a positive number of people")
        total += population * places / per
    return total


@dataclass
class Line:
    """One service type in one area (a municipality, or the district rolled up)."""

    need: float
    capacity: float = 0.0
    users: float | None = None
    waiting: float = 0.0

    @property
    def gap(self) -> float:
        return self.need - self.capacity

    @property
    def coverage(self) -> float | None:
        return self.capacity / self.need if self.need > 0 else None

    @property
    def utilisation(self) -> float | None:
        if self.users is None or self.capacity <= 0:
            return None
        return self.users / self.capacity

    def flags(self, thresholds: Thresholds = Thresholds()) -> list[str]:
        out = []
        coverage = self.coverage
        if coverage is None:
            if self.capacity > 0:
                out.append("over")
        elif coverage < thresholds.under:
            out.append("under")
        elif coverage > thresholds.over:
            out.append("over")
        utilisation = self.utilisation
        if self.waiting > 0 and utilisation is not None and utilisation >= thresholds.full:
            out.append("waiting")
        if self.waiting > 0 and self.capacity <= 0:
            out.append("waiting")
        return out


@dataclass
class RollUp:
    """A service type across a district: the sum of its municipalities, and which of them
    need less than the smallest viable service (`minimum`), so should be served at district
    level or shared by agreement rather than each opening its own."""

    total: Line
    too_small: list[str] = field(default_factory=list)
    recommendation: str = "municipal"  # municipal | shared | district


def roll_up(lines: dict[str, Line], minimum: float | None = None, level: str = "municipal") -> RollUp:
    """Sum the municipalities' lines. `minimum` is the threshold (data: the service type's
    smallest viable number of places). A district-level service type is planned for the
    district whatever its size; otherwise, if some municipality's need is above zero but
    below the minimum, the service is recommended for sharing (or for the district, when even
    the district's whole need falls short of the minimum)."""
    if minimum is not None and minimum < 0:
        raise NeedError("the smallest viable service cannot be negative")
    users = [line.users for line in lines.values() if line.users is not None]
    total = Line(
        need=sum(line.need for line in lines.values()),
        capacity=sum(line.capacity for line in lines.values()),
        users=sum(users) if users else None,
        waiting=sum(line.waiting for line in lines.values()),
    )
    too_small = sorted(code for code, line in lines.items() if minimum and 0 < line.need < minimum)
    if level == "district":
        recommendation = "district"
    elif too_small:
        recommendation = "district" if minimum and total.need < minimum else "shared"
    else:
        recommendation = "municipal"
    return RollUp(total=total, too_small=too_small, recommendation=recommendation)
