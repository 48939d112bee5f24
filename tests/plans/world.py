"""A small world for the plan tests: Alytus and two peers in a group, one catalogue
indicator (water losses, lower is better) observed 2020–2024, a coordinator for Alytus, a
working group with one member, and an outsider. The engine derives the values."""

from dataclasses import dataclass

from municipium.accounts.models import Role
from municipium.benchmarks import engine
from municipium.catalog.models import Indicator
from municipium.meetings import services as meetings
from municipium.meetings.models import Body, Member
from municipium.places.models import Group
from municipium.plans import services
from municipium.plans.models import Item, Plan, Target
from tests import factories as f

# Alytus's water losses (%), falling from 30 towards a target of 15 by 2030.
LOSSES = {"LT-02": [30, 28, 27, 25, 24], "LT-03": [20, 20, 19, 19, 18], "LT-07": [35, 34, 30, 29, 27]}
YEARS = [2020, 2021, 2022, 2023, 2024]


@dataclass
class World:
    alytus: object
    group: object
    indicator: Indicator
    coordinator: object
    drafter: object
    outsider: object
    body: Body
    plan: Plan
    goal: Item
    measure: Item
    target: Target


def build() -> World:
    units = {code: f.unit(code, {"en": code}) for code in LOSSES}
    group = f.group("alytus", list(units.values()), kind=Group.Kind.REGION)
    losses = f.variable("water_losses_pct")
    indicator = f.indicator(
        "water_losses", "water_losses_pct", polarity=Indicator.Polarity.LOWER_IS_BETTER, unit_of_measure={"en": "%"}
    )
    for code, values in LOSSES.items():
        for year, value in zip(YEARS, values, strict=True):
            f.observe(units[code], losses, year, value)
    engine.recompute_all()
    alytus = units["LT-02"]
    coordinator = f.person("coordinator", Role.Kind.APPROVER, alytus)
    drafter = f.person("drafter")
    outsider = f.person("outsider")
    body = meetings.save_body(
        coordinator,
        Body(code="alytus-environment", name="Environment and infrastructure", kind="working_group", unit=alytus),
    )
    meetings.save_member(coordinator, Member(body=body, name="Drafter", user=drafter))
    plan = services.save_plan(
        coordinator,
        Plan(
            unit=alytus,
            code="alytus-2030",
            title="Alytus strategic development plan to 2030",
            start_year=2021,
            end_year=2030,
            compare_with=group,
        ),
    )
    goal = services.save_item(coordinator, Item(plan=plan, code="1", title="Clean environment", body=body))
    measure = services.save_item(coordinator, Item(plan=plan, parent=goal, code="1.1", title="Cut water losses"))
    target = services.save_target(
        coordinator,
        Target(
            item=measure,
            indicator=indicator,
            baseline=30,
            baseline_year=2020,
            target=15,
            target_year=2030,
            milestones={"2025": 22.5},
        ),
    )
    return World(alytus, group, indicator, coordinator, drafter, outsider, body, plan, goal, measure, target)
