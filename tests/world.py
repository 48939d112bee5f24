"""A small real world for page, report and browser tests: the starter catalogue, the demo's
units and groups with their boundaries, and synthetic figures for a few years, loaded through
the same loaders, write path and engine as the product's own demo (municipium.demo).

    from tests.world import build_world
    world = build_world()          # inside a test with database access
    world.unit("RS-70670")         # Kruševac

Tests that only read share one world per module: `world = module_world(years=...)` at module
level builds it once, inside a transaction rolled back when the module is done; each test
runs in a savepoint inside it, so what a test writes is gone before the next one.
"""

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import yaml
from django.db import transaction

from municipium.benchmarks import engine
from municipium.catalog.files import catalogue_files, load_catalog
from municipium.demo.load import HERE, STARTER
from municipium.demo.synthetic import generate
from municipium.observations.models import ImportBatch, Status, Via
from municipium.observations.services import Row, write_observations
from municipium.places.files import attach_boundaries, load_units
from municipium.places.models import Group, Unit

YEARS = (2022, 2023, 2024)
# Units whose figures the world holds: Rasina's municipalities and the Polish exchange group.
WITH_DATA = ("rasina", "pl-exchange")


@dataclass
class World:
    years: tuple

    def unit(self, code: str) -> Unit:
        return Unit.objects.get(code=code)

    def group(self, code: str) -> Group:
        return Group.objects.get(code=code)


def _catalog_dict() -> dict:
    catalog: dict = {}
    for file in catalogue_files(STARTER):
        for section, items in (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).items():
            catalog.setdefault(section, []).extend(items or [])
    return catalog


def build_world(years=YEARS, groups=WITH_DATA, *, last_year_status: str | None = None, sharing: tuple = ()) -> World:
    """Load the world; `last_year_status` leaves the last year's figures in that status
    (draft, submitted, ...) instead of published; the groups of `sharing` share unpublished
    figures among their members whatever their kind (Rasina is a region, which does not)."""
    with transaction.atomic():
        world = _build(years, groups, last_year_status)
        Group.objects.filter(code__in=sharing).update(shares_unpublished=True)
        # Everything is computed above; the recomputes the loads scheduled would only repeat it.
        transaction.get_connection().run_on_commit.clear()
    return world


@contextmanager
def rolled_back(django_db_blocker):
    """For a module-scoped fixture that writes: everything it writes (audit events
    included) happens in a transaction rolled back after the module's last test, so nothing
    leaks into the next module on the same worker. Each test runs in a savepoint inside."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def module_world(*, prepare: Callable[[World], None] | None = None, **kwargs):
    """A module-scoped `world` fixture: `build_world(**kwargs)` once for all the module's
    tests (then `prepare(world)`), rolled back after the last one. The tests must carry the
    `django_db` mark as usual; it wraps each of them in a savepoint of this transaction."""

    @pytest.fixture(scope="module")
    def world(django_db_setup, django_db_blocker):
        with django_db_blocker.unblock():
            outer = transaction.atomic()
            outer.__enter__()
            try:
                built = build_world(**kwargs)
                if prepare is not None:
                    prepare(built)
                yield built
            finally:
                transaction.set_rollback(True)
                outer.__exit__(None, None, None)

    return world


def _build(years, groups, last_year_status) -> World:
    for report in (
        load_catalog(STARTER),
        load_units(HERE / "units.yaml"),
        attach_boundaries(HERE / "boundaries.geojson", key_property="code"),
    ):
        assert not report.problems, report.problems[:5]
    demo = yaml.safe_load((HERE / "units.yaml").read_text(encoding="utf-8"))
    members = set()
    for entry in demo["groups"]:
        if entry["code"] in groups:
            members |= {m if isinstance(m, str) else m["unit"] for m in entry["members"]}
    chosen = [u for u in demo["units"] if u["code"] in members]
    units = {u.code: u for u in Unit.objects.filter(code__in=members)}
    from municipium.catalog.models import Variable
    from municipium.observations.models import Period

    variables = {v.code: v for v in Variable.objects.all()}
    periods = {year: Period.objects.for_code(str(year)) for year in years}
    rows = []
    for item in generate(_catalog_dict(), chosen, years=years):
        status = Status.PUBLISHED
        if last_year_status and int(item["period"]) == max(years):
            status = last_year_status
        rows.append(
            Row(
                unit_id=units[item["unit"]].pk,
                variable_id=variables[item["variable"]].pk,
                period_id=periods[int(item["period"])].pk,
                breakdown=item.get("breakdown") or "",
                value=item.get("value"),
                missing=item.get("missing") or "",
                status=status,
                source=item.get("source") or "",
            )
        )
    batch = ImportBatch.objects.create(file_name="test world", sha256="", format="test", via=Via.COMMAND)
    write_observations(rows, batch=batch)
    engine.recompute_all()
    return World(years=tuple(years))
