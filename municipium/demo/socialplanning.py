"""Demo social-service planning: SYNTHETIC figures on a real structure. The municipalities of
Pazardzhik province (Strelcha merged into Panagyurishte in the demo's synthetic merger of
2022, so eleven take part in 2023) plan their social services in the round of February–March
2023: their population by age band is the demo's synthetic observations; the settlements
(each town at its real place, villages placed around it), the providers and services, the
waiting lists, proposals, consultation dates and decision numbers are invented, and every
name says so. The norms table holds the OECD long-term-care benchmark with its citation and
labelled example figures. Loading twice changes nothing."""

import datetime as dt
import math
import random

from django.db import transaction

from municipium.catalog.models import Variable
from municipium.cooperation import services as cooperation
from municipium.meetings.services import record_council_decision
from municipium.places.models import Group, Unit
from municipium.socialplanning import planning, services
from municipium.socialplanning.models import (
    Norm,
    NormTable,
    ProposalLine,
    Provider,
    Round,
    Service,
    ServiceType,
    Settlement,
)

ROUND = "pazardzhik-2023"
DEMO = " (demo)"
# Each municipality's seat at its real place (longitude, latitude, rounded).
TOWNS = {
    "BG-PAZ03": ("Batak", 24.22, 41.94),
    "BG-PAZ04": ("Belovo", 24.02, 42.21),
    "BG-PAZ06": ("Bratsigovo", 24.37, 42.02),
    "BG-PAZ08": ("Velingrad", 23.99, 42.03),
    "BG-PAZ14": ("Lesichovo", 24.11, 42.36),
    "BG-PAZ19": ("Pazardzhik", 24.33, 42.19),
    "BG-PAZ20": ("Panagyurishte", 24.19, 42.50),
    "BG-PAZ21": ("Peshtera", 24.30, 42.03),
    "BG-PAZ24": ("Rakitovo", 24.09, 41.99),
    "BG-PAZ29": ("Septemvri", 24.12, 42.21),
    "BG-PAZ39": ("Sarnitsa", 24.03, 41.73),
}
# Smallest viable services of the demo (a planning choice of the district, not a norm).
MINIMUM = {"day-care-older": 15, "residential-older": 30, "day-care-disability": 12}


def load_socialplanning() -> None:
    if Round.objects.filter(code=ROUND).exists():
        return
    group = Group.objects.filter(code="pazardzhik").first()
    if group is None:
        return
    with transaction.atomic():
        services.load_starter(None)
        for code, minimum in MINIMUM.items():
            item = ServiceType.objects.get(code=code)
            item.minimum_places = minimum
            services.save_service_type(None, item)
        table = _norms()
        round_ = services.save_round(
            None,
            Round(
                code=ROUND,
                title="Pazardzhik social services planning round 2023 (demo)",
                group=group,
                year=2022,
                horizon=2025,
                norms=table,
                opens=dt.date(2023, 2, 1),
                agreement_deadline=dt.date(2023, 3, 10),
                agency_deadline=dt.date(2023, 3, 31),
            ),
        )
        units = planning.members(round_)
        rng = random.Random(15)
        for unit in units:
            _settlements(unit, rng)
            _supply(unit, rng)
        _proposals(round_, rng)
        _shared(round_)


def _norms() -> NormTable:
    table = NormTable.objects.filter(code="pazardzhik-demo", version=1).first()
    if table is not None:
        return table
    table = NormTable.objects.create(
        code="pazardzhik-demo",
        version=1,
        title="Pazardzhik demo norms 2023: one cited benchmark and EXAMPLE figures",
        jurisdiction="example",
        effective=dt.date(2023, 1, 1),
        status=NormTable.Status.EXAMPLE,
        source=(
            "Residential care for older people: 42 beds per 1,000 people aged 65 and over, the OECD "
            "average of beds in long-term care facilities in 2021 (OECD (2023), Health at a Glance 2023, "
            "Figure 10.21). Every other row is an EXAMPLE figure for the demo, not a norm."
        ),
    )
    ages = Variable.objects.get(code="population_by_age")
    types = {t.code: t for t in ServiceType.objects.all()}
    for code, categories, places, note in (
        ("residential-older", ["65-79", "80+"], 42, "OECD average 2021 (benchmark)"),
        ("day-care-older", ["65-79", "80+"], 5, "example"),
        ("home-care", ["80+"], 40, "example"),
        ("day-care-disability", ["15-64"], 1, "example"),
    ):
        services.save_norm(
            None,
            Norm(table=table, service_type=types[code], variable=ages, categories=categories, places=places, note=note),
        )
    return table


def _population(unit) -> float:
    from municipium.observations.models import Observation

    row = Observation.objects.filter(
        unit=unit, variable__code="population", period__code="2022", breakdown="", value__isnull=False
    ).first()
    return float(row.value) if row else 10_000.0


def _settlements(unit, rng) -> None:
    name, lon, lat = TOWNS[unit.code]
    total = _population(unit)
    villages = 4
    town_share = 0.6
    services.save_settlement(
        None,
        Settlement(unit=unit, code=f"{unit.code}-T", name=name, lon=lon, lat=lat, population=round(total * town_share)),
    )
    for n in range(villages):
        angle = 2 * math.pi * n / villages + rng.uniform(-0.4, 0.4)
        distance = rng.uniform(0.05, 0.12)  # degrees, about 4–13 km
        services.save_settlement(
            None,
            Settlement(
                unit=unit,
                code=f"{unit.code}-V{n + 1}",
                name=f"{name} village {n + 1}{DEMO}",
                lon=round(lon + distance * math.cos(angle) / math.cos(math.radians(lat)), 4),
                lat=round(lat + distance * math.sin(angle), 4),
                population=round(total * (1 - town_share) / villages),
            ),
        )


def _supply(unit, rng) -> None:
    name, lon, lat = TOWNS[unit.code]
    town = Settlement.objects.get(unit=unit, code=f"{unit.code}-T")
    everyone = list(Settlement.objects.filter(unit=unit))
    municipal = services.save_provider(
        None, Provider(unit=unit, name=f"Municipality of {name}{DEMO}", kind="public", licence="")
    )
    types = {t.code: t for t in ServiceType.objects.all()}
    older = _target(unit, ["65-79", "80+"])
    rows = [
        ("day-care-older", f"Day centre for older people, {name}{DEMO}", older * 5 / 1000 * rng.uniform(0.4, 1.3)),
        ("home-care", f"Home care, {name}{DEMO}", _target(unit, ["80+"]) * 40 / 1000 * rng.uniform(0.5, 1.1)),
    ]
    if unit.code in ("BG-PAZ19", "BG-PAZ08", "BG-PAZ20"):
        rows.append(
            ("residential-older", f"Home for older people, {name}{DEMO}", older * 42 / 1000 * rng.uniform(0.3, 0.6))
        )
    for code, label, capacity in rows:
        capacity = max(5, round(capacity))
        users = min(capacity, round(capacity * rng.uniform(0.7, 1.0)))
        services.save_service(
            None,
            Service(
                provider=municipal,
                service_type=types[code],
                name=label,
                year=2022,
                lon=town.lon,
                lat=town.lat,
                capacity=capacity,
                users=users,
                waiting=round(capacity * rng.uniform(0, 0.4)) if users == capacity else 0,
                staff=round(capacity / 4, 1),
                funding="state" if code != "home-care" else "project",
            ),
            everyone,
        )
    if unit.code == "BG-PAZ19":
        ngo = services.save_provider(
            None, Provider(unit=unit, name=f"Synthetic NGO for disability{DEMO}", kind="ngo", licence="DEMO-0001")
        )
        services.save_service(
            None,
            Service(
                provider=ngo,
                service_type=types["day-care-disability"],
                name=f"Day centre for adults with disabilities{DEMO}",
                year=2022,
                lon=town.lon + 0.01,
                lat=town.lat,
                capacity=30,
                users=30,
                waiting=6,
                staff=9,
                funding="state",
            ),
            everyone,
        )


def _target(unit, categories) -> float:
    from municipium.observations.models import Observation

    rows = Observation.objects.filter(
        unit=unit,
        variable__code="population_by_age",
        period__code="2022",
        breakdown__in=categories,
        value__isnull=False,
    )
    return float(sum(r.value for r in rows))


def _proposals(round_, rng) -> None:
    """Every municipality proposes what its gaps ask; most consulted for 30 days from 6
    February, some approved by their councils and sent, the last ones still waiting."""
    summaries = {s.service_type.code: s for s in planning.needs_table(round_)}
    for n, unit in enumerate(planning.members(round_)):
        proposal = services.proposal_for(None, round_, unit)
        for code in ("day-care-older", "home-care"):
            row = next((r for r in summaries[code].rows if r.unit.pk == unit.pk and r.line), None)
            if row is None:
                continue
            places = max(0, round(row.line.need))
            services.save_line(
                None,
                ProposalLine(
                    proposal=proposal,
                    service_type=summaries[code].service_type,
                    places=places,
                    funding="state",
                    note="demo",
                ),
            )
        if n >= 9:
            continue  # still drafting
        consultation = services.open_consultation(
            None, proposal, dt.date(2023, 2, 6), "Synthetic demo consultation of the proposal."
        )
        if n >= 6:
            continue  # consulted, awaiting the council
        decided = dt.date(2023, 3, 9 + n)
        record_council_decision(None, consultation, number=f"{100 + n}/2023 (demo)", date=decided, today=decided)
        proposal.refresh_from_db()
        if n < 4:
            services.mark_sent(None, proposal, decided + dt.timedelta(days=7))


def _shared(round_) -> None:
    """A home for older people hosted by Pazardzhik for its small neighbours, whose need is
    below the 30 places of a viable home."""
    host = Unit.objects.get(code="BG-PAZ19")
    parties = list(Unit.objects.filter(code__in=["BG-PAZ06", "BG-PAZ21", "BG-PAZ14", "BG-PAZ29"]).order_by("code"))
    shared = services.add_shared(
        None,
        round_,
        ServiceType.objects.get(code="residential-older"),
        host,
        40,
        parties,
        title="Home for older people of Pazardzhik and its neighbours (demo agreement)",
    )
    for n, party in enumerate(shared.agreement.parties.select_related("unit")):
        if n < 3:
            party.council_number = f"{200 + n}/2023 (demo)"
            party.council_date = dt.date(2023, 3, 2 + n)
            cooperation.save_party(None, party)
