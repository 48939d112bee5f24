"""Small helpers that make domain objects through the ORM, for tests of any app.

Each takes the few fields a test cares about and fills in the rest; codes default to a
counter so tests need not invent them.

    area = service_area()
    pop = variable("pop", breakdown=breakdown("sex", ["F", "M"]))
    ind = indicator("share_f", '100 * pop["F"] / sum(pop)', polarity="higher_is_better")
    a, b = units(2)
    g = group("peers", [a, b])
    observe(a, pop, "2024", 10, breakdown="F")
"""

import datetime as dt
import itertools
import random

from municipium.catalog.models import Breakdown, Category, Indicator, ServiceArea, Variable
from municipium.observations.models import ImportBatch, Observation, Period, Status
from municipium.observations.services import Row, write_observations
from municipium.places.models import Group, Membership, Unit

_counter = itertools.count(1)


def _code(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def date(value) -> dt.date | None:
    """ "2024-12-31" → date; a date or None passes through."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


_date = date


def service_area(code: str = "water", name: dict | None = None, *, order: int = 0) -> ServiceArea:
    """The service area with this code, made if new."""
    area, _ = ServiceArea.objects.get_or_create(
        code=code, defaults={"name": name or {"en": code.title()}, "order": order}
    )
    return area


def _area(area) -> ServiceArea:
    return area if isinstance(area, ServiceArea) else service_area(area or "water")


def unit(code: str | None = None, name: dict | None = None, *, valid_from=None, valid_to=None, **fields) -> Unit:
    code = code or _code("U")
    return Unit.objects.create(
        code=code, name=name or {"en": f"Unit {code}"}, valid_from=_date(valid_from), valid_to=_date(valid_to), **fields
    )


def units(n: int, prefix: str = "U") -> list[Unit]:
    return [unit(_code(prefix)) for _ in range(n)]


def group(code: str | None = None, members=(), *, kind: str = Group.Kind.PEER, valid_from=None, valid_to=None) -> Group:
    """A group with `members` (units) joined over the given dates (None = open)."""
    code = code or _code("G")
    g = Group.objects.create(code=code, name={"en": f"Group {code}"}, kind=kind)
    for u in members:
        membership(g, u, valid_from=valid_from, valid_to=valid_to)
    return g


def membership(group: Group, unit: Unit, *, valid_from=None, valid_to=None) -> Membership:
    return Membership.objects.create(group=group, unit=unit, valid_from=_date(valid_from), valid_to=_date(valid_to))


def breakdown(code: str, categories) -> Breakdown:
    b = Breakdown.objects.create(code=code, name={"en": code})
    for order, category in enumerate(categories):
        Category.objects.create(breakdown=b, code=category, name={"en": category}, order=order)
    return b


def variable(
    code: str | None = None,
    *,
    area: ServiceArea | str | None = None,
    breakdown: Breakdown | None = None,
    period_kind: str = "year",
    **fields,
) -> Variable:
    """A variable; `area` is a ServiceArea or its code (made if new, default "water")."""
    code = code or _code("v")
    return Variable.objects.create(
        code=code, service_area=_area(area), name={"en": code}, breakdown=breakdown, period_kind=period_kind, **fields
    )


def indicator(
    code: str | None = None,
    formula: str = "1",
    *,
    area: ServiceArea | str | None = None,
    polarity: str = Indicator.Polarity.NEUTRAL,
    period_kind: str = "year",
    decimals: int = 1,
    dimension: str = Indicator.Dimension.QUANTITY,
    **fields,
) -> Indicator:
    code = code or _code("i")
    return Indicator.objects.create(
        code=code,
        service_area=_area(area),
        name={"en": code},
        formula=formula,
        polarity=polarity,
        period_kind=period_kind,
        decimals=decimals,
        dimension=dimension,
        **fields,
    )


def period(code) -> Period:
    """A Period by code ("2024", "2024Q1", "2024-01"), made if new; a Period passes through."""
    return code if isinstance(code, Period) else Period.objects.for_code(str(code))


def periods(first: int, last: int) -> list[Period]:
    """Years first..last."""
    return [period(year) for year in range(first, last + 1)]


def observe(
    unit: Unit,
    variable: Variable,
    when,
    value: float | None = None,
    *,
    missing: str = "",
    breakdown: str = "",
    status: str = Status.PUBLISHED,
) -> Observation:
    """Store one observation directly (no revision, no recompute): for setting up data the
    test then computes explicitly. A None value without a missing code is "not collected"."""
    if value is None and not missing:
        missing = "not_collected"
    obs, _ = Observation.objects.update_or_create(
        unit=unit,
        variable=variable,
        period=period(when),
        breakdown=breakdown,
        defaults={"value": value, "missing": missing, "status": status},
    )
    return obs


def row(
    unit: Unit,
    variable: Variable,
    when,
    value: float | None = None,
    *,
    missing: str = "",
    breakdown: str = "",
    status: str = Status.PUBLISHED,
) -> Row:
    if value is None and not missing:
        missing = "not_collected"
    return Row(unit.pk, variable.pk, period(when).pk, breakdown, value, missing, status)


def write(rows, *, file_name: str = "test.csv"):
    """Save rows through the real write path (revisions, audit, recompute on commit)."""
    return write_observations(list(rows), batch=ImportBatch(file_name=file_name, sha256="0" * 64, format="csv"))


def write_as(actor, rows, *, file_name: str = "test.csv"):
    """`write`, by `actor` (their name on the figures and their versions)."""
    batch = ImportBatch(file_name=file_name, sha256="0" * 64, format="csv", created_by=actor)
    return write_observations(list(rows), batch=batch, actor=actor)


def random_figures(units, variables, years, *, seed: int):
    """Write a whole figure from 1 to 99 for every unit, variable and year, each a draft or
    published at random: the published figures differ from those on all data here and there
    (tests that run outside a transaction build such a world rather than load the demo)."""
    rng = random.Random(seed)
    return write(
        row(u, v, year, rng.randint(1, 99), status=rng.choice([Status.DRAFT, Status.PUBLISHED]))
        for u in units
        for v in variables
        for year in years
    )


def versions() -> list[tuple]:
    """Every version of every figure, the stored revisions and the first versions the rows of
    unchanged figures stand for (`history.first_version`), in a stable order:
    (observation_id, version, value, missing, status, source, comment, changed_by_id, via,
    batch_id)."""
    from municipium.observations import history
    from municipium.observations.models import Revision

    fields = ("observation_id", "version", "value", "missing", "status", "source", "comment", "changed_by_id")
    stored = [(*(getattr(r, f) for f in fields), r.via, r.batch_id) for r in Revision.objects.all()]
    implicit = [
        (*(getattr(r, f) for f in fields), r.via, r.batch_id)
        for r in map(history.first_version, Observation.objects.filter(version=1).select_related("batch"))
    ]
    return sorted(stored + implicit, key=lambda v: (v[0], v[1]))


def stored_observations() -> list[tuple]:
    """Every stored observation's content, in a stable order: a snapshot to compare."""
    return list(
        Observation.objects.order_by("unit_id", "variable_id", "period_id", "breakdown").values_list(
            "unit_id",
            "variable_id",
            "period_id",
            "breakdown",
            "value",
            "missing",
            "status",
            "source",
            "comment",
            "version",
            "batch_id",
        )
    )


def stored_state() -> dict:
    """Everything an import may touch, comparable with ==: observations, their revisions,
    import batches and periods. A refused import must leave this exactly as it was."""
    from municipium.observations.models import Revision

    return {
        "observations": stored_observations(),
        "revisions": list(
            Revision.objects.order_by("observation_id", "version").values_list(
                "observation_id", "version", "value", "missing", "status", "source", "comment", "via", "batch_id"
            )
        ),
        "batches": list(ImportBatch.objects.order_by("pk").values_list("pk", "file_name", "rows", "created")),
        "periods": list(Period.objects.order_by("code").values_list("code", flat=True)),
    }


def person(
    name: str = "someone",
    kind: str | None = None,
    scope: Unit | Group | None = None,
    *,
    unit: Unit | None = None,
    group: Group | None = None,
):
    """The shared cast: a user with, optionally, one role of `kind` on a unit or a group
    (given by keyword, or as `scope`, whichever it is). No password (hashing one with
    Argon2 takes a second); tests log people in with `client.force_login`, browser tests
    with the `login` fixture, which sets one."""
    if isinstance(scope, Group):
        group = scope
    elif scope is not None:
        unit = scope
    from django.contrib.auth import get_user_model

    from municipium.accounts.models import Role

    user = get_user_model().objects.create_user(name)
    if kind:
        Role.objects.create(user=user, kind=kind, unit=unit, group=group)
    return user
