"""The demo strategic plan: Alytus City Municipality's development plan to 2030, SYNTHETIC
content on the real structure (the plan's five thematic working groups are the demo bodies
of `demo.meetings`; the council decision number and the targets are invented, and the
baselines are the demo's own synthetic 2020 figures).

Two priorities with goals drafted by the five working groups, each measured by catalogue
indicators (so progress follows the derived figures and is shown beside the Alytus county
demo group), one by a plan-specific indicator with typed values. Loaded after the derived
figures exist; loading twice changes nothing.
"""

import datetime as dt

from django.db import transaction

from municipium.benchmarks import read
from municipium.catalog.models import Indicator
from municipium.meetings.models import Body
from municipium.observations.models import Period
from municipium.places.models import Group, Unit
from municipium.plans import services
from municipium.plans.models import Item, Plan, Target

NOTE = "\n\n[Demo: synthetic content on a real structure.]"

# (item code, parent, title, working group, [(indicator, improvement in the indicator's
# good direction by 2030, as a share of the 2020 value)])
ITEMS = [
    ("1", None, "Darni aplinka ir infrastruktūra", None, []),
    (
        "1.1",
        "1",
        "Patikimas ir taupus vandens tiekimas",
        "alytus-water",
        [("water_nrw", 0.30), ("water_coverage", 0.05)],
    ),
    (
        "1.2",
        "1",
        "Mažiau atliekų į sąvartyną",
        "alytus-waste",
        [("waste_recycling_rate", 0.40), ("waste_landfill_share", 0.35)],
    ),
    ("1.3", "1", "Saugios gatvės", "alytus-roads", [("road_injury_accidents_per_10000", 0.30)]),
    ("2", None, "Socialinė gerovė ir atvira savivalda", None, []),
    ("2.1", "2", "Pagalba namuose senyvo amžiaus žmonėms", "alytus-social", [("homecare_users_per_1000_65plus", 0.25)]),
    (
        "2.2",
        "2",
        "Skaitmeninės teritorijų planavimo paslaugos",
        "alytus-geodesy",
        [("geo_online_requests_share", 0.50)],
    ),
]


def _baseline(indicator: Indicator, unit: Unit, year: int) -> float | None:
    period = Period.objects.filter(code=str(year)).first()
    row = read.value(indicator, unit, period, public=False) if period else None
    return row.value if row else None


@transaction.atomic
def load_plans() -> None:
    if Plan.objects.filter(code="alytus-2030").exists():
        return
    alytus = Unit.objects.get(code="LT-02")
    plan = services.save_plan(
        None,
        Plan(
            unit=alytus,
            code="alytus-2030",
            title="Alytaus miesto savivaldybės strateginis plėtros planas iki 2030 m.",
            vision="Žalias, saugus ir atviras miestas." + NOTE,
            start_year=2021,
            end_year=2030,
            compare_with=Group.objects.filter(code="alytus").first(),
            levels=["prioritetas", "tikslas", "uždavinys", "priemonė"],
        ),
    )
    made: dict[str, Item] = {}
    for position, (code, parent, title, body, targets) in enumerate(ITEMS, start=1):
        item = services.save_item(
            None,
            Item(
                plan=plan,
                parent=made.get(parent) if parent else None,
                code=code,
                title=title,
                body=Body.objects.filter(code=body).first() if body else None,
                position=position,
            ),
        )
        made[code] = item
        for indicator_code, improvement in targets:
            indicator = Indicator.objects.filter(code=indicator_code).first()
            base = _baseline(indicator, alytus, 2020) if indicator else None
            if indicator is None or base is None:
                continue
            better = 1 if indicator.polarity != Indicator.Polarity.LOWER_IS_BETTER else -1
            final = base * (1 + better * improvement)
            if indicator.unit_label == "%":
                final = min(final, 100.0)
            services.save_target(
                None,
                Target(
                    item=item,
                    indicator=indicator,
                    baseline=round(base, 2),
                    baseline_year=2020,
                    target=round(final, 2),
                    target_year=2030,
                    milestones={"2025": round(base + (final - base) / 2, 2)},
                ),
            )
    # A plan-specific indicator whose values the municipality types in itself.
    services.save_target(
        None,
        Target(
            item=made["2.2"],
            own_name="Skaitmeninių paslaugų skaičius",
            own_unit="vnt.",
            own_values={"2021": 4, "2022": 6, "2023": 7, "2024": 9, "2025": 10},
            baseline=3,
            baseline_year=2020,
            target=20,
            target_year=2030,
        ),
    )
    services.adopt(None, plan, number="T-45", date=dt.date(2021, 2, 25))
