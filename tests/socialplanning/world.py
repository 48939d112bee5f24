"""A small district for the social-planning tests, built once per module: three Bulgarian
municipalities in a region group, their population by age band in 2017 and 2022 (Gamma's
65–79 is missing), the starter service types, an example norms table, settlements, a day
centre in Alpha, a round for 2025, a coordinator, an officer of Alpha and of Beta, an
outsider."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.db import transaction

from municipium.accounts.models import Role
from municipium.places.models import Group
from municipium.socialplanning import services
from municipium.socialplanning.models import Norm, NormTable, Provider, Round, Service, ServiceType, Settlement
from tests import factories as f

AGES = {
    # unit: {year: (0-14, 15-64, 65-79, 80+)}
    "BG-T01": {2017: (1100, 6200, 1800, 700), 2022: (1000, 6000, 2000, 800)},
    "BG-T02": {2017: (550, 3100, 900, 300), 2022: (500, 3000, 900, 300)},
    "BG-T03": {2017: (300, 2000, None, 100), 2022: (300, 1900, None, 100)},
}
NAMES = {"BG-T01": "Alpha", "BG-T02": "Beta", "BG-T03": "Gamma"}
BANDS = ["0-14", "15-64", "65-79", "80+"]


@dataclass
class World:
    units: dict
    group: Group
    coordinator: object
    alpha_officer: object
    beta_officer: object
    outsider: object
    table: NormTable
    round: Round
    day_care: ServiceType
    residential: ServiceType
    centre: Service


def build() -> World:
    units = {code: f.unit(code, {"en": name}) for code, name in NAMES.items()}
    group = f.group("paz-test", list(units.values()), kind=Group.Kind.REGION)
    coordinator = f.person("sp-coordinator", Role.Kind.COORDINATOR, group)
    alpha_officer = f.person("sp-alpha", Role.Kind.OFFICER, units["BG-T01"])
    beta_officer = f.person("sp-beta", Role.Kind.OFFICER, units["BG-T02"])
    outsider = f.person("sp-outsider")
    ages = f.variable("population_by_age", area="population", breakdown=f.breakdown("age_band", BANDS))
    total = f.variable("population", area="population")
    for code, years in AGES.items():
        for year, values in years.items():
            for band, value in zip(BANDS, values, strict=True):
                if value is not None:
                    f.observe(units[code], ages, year, value, breakdown=band)
            f.observe(units[code], total, year, sum(v or 0 for v in values))
    services.load_starter(coordinator)
    day_care = ServiceType.objects.get(code="day-care-older")
    day_care.minimum_places = 15
    services.save_service_type(coordinator, day_care)
    residential = ServiceType.objects.get(code="residential-older")
    table = NormTable.objects.create(
        code="test-norms",
        title="Test norms (example)",
        jurisdiction="example",
        source="hand-made for the tests",
        effective=dt.date(2022, 1, 1),
        status="example",
    )
    services.save_norm(
        coordinator, Norm(table=table, service_type=day_care, variable=ages, categories=["65-79", "80+"], places=5)
    )
    services.save_norm(
        coordinator, Norm(table=table, service_type=residential, variable=ages, categories=["80+"], places=30)
    )
    for unit, code, name, lon, lat, population in (
        ("BG-T01", "A1", "Alpha town", 24.33, 42.19, 8000),
        ("BG-T01", "A2", "Alpha village", 24.45, 42.25, 1800),
        ("BG-T02", "B1", "Beta town", 24.10, 42.10, 4700),
    ):
        services.save_settlement(
            coordinator, Settlement(unit=units[unit], code=code, name=name, lon=lon, lat=lat, population=population)
        )
    provider = services.save_provider(
        alpha_officer, Provider(unit=units["BG-T01"], name="Alpha social services", kind="public", licence="L-1")
    )
    centre = services.save_service(
        alpha_officer,
        Service(
            provider=provider,
            service_type=day_care,
            name="Alpha day centre",
            year=2022,
            lon=24.33,
            lat=42.19,
            capacity=10,
            users=10,
            waiting=3,
            staff=4,
            funding="state",
        ),
        list(Settlement.objects.filter(unit=units["BG-T01"])),
    )
    round_ = services.save_round(
        coordinator,
        Round(
            code="paz-2023",
            title="Planning round 2023",
            group=group,
            year=2022,
            horizon=2025,
            norms=table,
            opens=dt.date(2023, 2, 1),
            agreement_deadline=dt.date(2023, 3, 15),
            agency_deadline=dt.date(2023, 3, 31),
        ),
    )
    return World(
        units, group, coordinator, alpha_officer, beta_officer, outsider, table, round_, day_care, residential, centre
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
