"""What the API reads and writes, as typed schemas (they make the OpenAPI document)."""

import datetime as dt
from typing import Literal

from ninja import Field, Schema

# Catalogue texts stored per language: {"en": "...", "pl": "..."}.
Texts = dict[str, str]

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_WRITE_ROWS = 10_000


class ConflictOut(Schema):
    """What is stored now against what the row sent, for a row refused because the
    observation changed since the client read it (409)."""

    stored_value: float | None
    stored_missing: str
    stored_status: str
    stored_version: int = Field(..., description="The version to send after checking the stored figure")
    sent_value: float | None
    sent_missing: str
    sent_version: int | None


class ProblemOut(Schema):
    """One thing wrong with the request, located as precisely as possible."""

    row: int | None = Field(None, description="Position in the request's `rows`, the first being 1")
    column: str | None = Field(None, description="Field or parameter name")
    message: str
    expected: str = ""
    conflict: ConflictOut | None = Field(None, description="Only on a write conflict (409)")


class ErrorOut(Schema):
    """Every error the API returns has this shape."""

    detail: str
    problems: list[ProblemOut] = []


ERROR_CODES = (400, 401, 403, 404, 409, 413, 422, 429)
ERRORS = {code: ErrorOut for code in ERROR_CODES}


def responses(ok) -> dict:
    """The route's success schema and the one error schema for every error status."""
    return {200: ok, **ERRORS}


class ServiceAreaOut(Schema):
    code: str
    name: Texts
    order: int


class CategoryOut(Schema):
    code: str
    name: Texts


class BreakdownOut(Schema):
    code: str
    name: Texts
    categories: list[CategoryOut]


class VariableOut(Schema):
    code: str
    service_area: str
    name: Texts
    description: Texts
    unit_of_measure: Texts
    period_kind: str
    breakdown: BreakdownOut | None
    min_value: float | None
    max_value: float | None
    source: Texts


class IndicatorOut(Schema):
    code: str
    service_area: str
    name: Texts
    definition: Texts
    formula: str
    unit_of_measure: Texts
    dimension: str
    polarity: str
    period_kind: str
    decimals: int
    target: float | None
    thresholds: dict[str, float | None]


class UnitOut(Schema):
    id: int
    code: str
    name: Texts
    kind: str
    parent: str | None
    valid_from: dt.date | None
    valid_to: dt.date | None


class MembershipOut(Schema):
    unit: str
    valid_from: dt.date | None
    valid_to: dt.date | None


class GroupOut(Schema):
    id: int
    code: str
    name: Texts
    description: Texts
    kind: str
    memberships: list[MembershipOut]


class ObservationOut(Schema):
    id: int
    unit: str
    variable: str
    period: str
    breakdown: str
    value: float | None
    missing: str
    status: str
    source: str
    comment: str
    version: int
    updated_at: dt.datetime


class IndicatorValueOut(Schema):
    id: int
    indicator: str
    unit: str
    period: str
    breakdown: str
    value: float | None
    missing: Literal["", "not_collected", "not_shared", "confidential", "not_applicable"] = Field(
        description="Why there is no value (the observations' missing codes); empty when there is one"
    )
    change: float | None
    change_pct: float | None
    trend: float | None
    status: Literal["published", "unpublished"]
    computed_at: dt.datetime


class GroupStatisticOut(Schema):
    id: int
    indicator: str
    group: str
    period: str
    breakdown: str
    members: int
    n: int
    min: float | None
    p10: float | None
    p25: float | None
    median: float | None
    p75: float | None
    p90: float | None
    max: float | None
    mean: float | None
    pooled: float | None
    status: Literal["published", "unpublished"]
    computed_at: dt.datetime


class Page(Schema):
    next: str | None = Field(None, description="Address of the next page; absent on the last one")
    limit: int


class SimilarUnitOut(Schema):
    code: str
    name: Texts
    population: float


class SimilarOut(Schema):
    unit: str
    country: str | None = Field(description="The unit of kind country above the unit.")
    population: float | None = Field(description="The unit's latest published population.")
    population_period: str | None
    rule: str = Field(description="How the similar units were chosen, in the request's language.")
    units: list[SimilarUnitOut] = Field(description="The similar units, closest in population first.")
    indicator: str | None = None
    period: str | None = None
    similar_median: float | None = Field(None, description="The similar units' median (published figures).")
    similar_n: int | None = None
    national: float | None = Field(
        None, description="The country's own figure, else the median of its units of the unit's kind."
    )
    national_n: int | None = Field(None, description="Units behind the national median; null for the country's own.")


class UnitPage(Page):
    items: list[UnitOut]


class GroupPage(Page):
    items: list[GroupOut]


class ObservationPage(Page):
    items: list[ObservationOut]


class IndicatorValuePage(Page):
    items: list[IndicatorValueOut]


class GroupStatisticPage(Page):
    items: list[GroupStatisticOut]


class ObservationIn(Schema):
    """One figure to store, in the same terms as a row of an import file."""

    unit: str = Field(..., max_length=64, description="Unit code")
    variable: str = Field(..., max_length=64, description="Variable code")
    period: str | int = Field(..., description="2024, 2024Q1 or 2024-01")
    breakdown: str = Field("", max_length=32, description="Category code; empty for the total")
    value: float | None = None
    missing: str = Field(
        "",
        max_length=32,
        description="not_collected, not_shared, confidential or not_applicable, when there is no value",
    )
    status: str = Field(
        "", max_length=32, description="draft (default) or submitted; approved and published need an approver's role"
    )
    source: str = Field("", max_length=2000)
    comment: str = Field("", max_length=2000)
    version: int | None = Field(
        None,
        ge=0,
        le=2**31 - 1,
        description=(
            "The observation's `version` as you last read it (0: you saw none). When the stored version differs, "
            "the request is refused with 409 and nothing is stored. Without it the row is written only when the "
            "observation does not exist yet or is a draft."
        ),
    )


class ObservationsIn(Schema):
    rows: list[ObservationIn] = Field(..., min_length=1, max_length=MAX_WRITE_ROWS)


class WriteOut(Schema):
    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    batch: int | None = Field(None, description="The import batch the write was recorded under")
