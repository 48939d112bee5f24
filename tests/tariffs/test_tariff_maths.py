"""The tariff arithmetic (lib/tariffs) on hand-computed cases and one published table value;
sources in tests/data/tariffs/README.md."""

import pytest

from municipium.lib.tariffs import (
    Block,
    Costs,
    Household,
    IncomeGroup,
    Scenario,
    Structure,
    TariffError,
    affordability,
    bill,
    block_charge,
    phase_in,
    ratios,
    real_erosion,
)


def test_the_capital_charge_is_the_annuity_of_the_investment():
    # Capital recovery factor at 5 % over 20 years: 0.080243 (standard interest tables).
    assert Costs(investment=1_000_000, rate=0.05, lifetime=20).capital_charge == pytest.approx(80_242.59, abs=0.01)
    assert Costs(investment=1_000_000, rate=0.0, lifetime=20).capital_charge == 50_000
    assert Costs(depreciation=70_000, investment=1_000_000, rate=0.05).capital_charge == 70_000


def test_revenue_requirement_and_the_regulators_ratios():
    costs = Costs(
        operating={"staff": 400_000, "energy": 150_000},
        depreciation=100_000,
        debt_service=50_000,
        non_tariff_revenue=20_000,
    )
    assert costs.revenue_requirement == 680_000
    r = ratios(costs, billed=600_000, collected=540_000)
    assert r.operating_cost_coverage == pytest.approx(620 / 550)
    assert r.operating_ratio == pytest.approx(550 / 620)
    assert r.full_cost_recovery == pytest.approx(620 / 700)
    assert r.collection_efficiency == pytest.approx(0.9)
    assert ratios(Costs(), billed=0).operating_cost_coverage is None


def test_increasing_blocks_bill_each_unit_at_its_blocks_price():
    blocks = [Block(6, 0.5), Block(20, 1.0), Block(None, 2.0)]  # a lifeline block of 6 m³
    assert block_charge(blocks, 0) == 0
    assert block_charge(blocks, 4) == 2.0
    assert block_charge(blocks, 25) == 6 * 0.5 + 14 * 1.0 + 5 * 2.0
    # Beyond a closed last block, the last price goes on.
    assert block_charge([Block(10, 1.0), Block(20, 3.0)], 25) == 10 + 30 + 15
    household = Household(persons=4, dwelling_m2=70, m3=12)
    assert bill(Structure(fixed=5, blocks=blocks), household) == 5 + 3 + 6
    assert bill(Structure(fixed=2, per_person=3), household) == 14
    assert bill(
        Structure(per_m2=0.1, per_bin_litre=0.01), Household(dwelling_m2=70, bin_litres=120 * 4)
    ) == pytest.approx(7 + 4.8)


@pytest.mark.parametrize(
    "blocks,where",
    [
        ([Block(10, 1.0), Block(8, 2.0)], "block 2"),  # overlaps the first
        ([Block(None, 1.0), Block(20, 2.0)], "block 1"),  # open-ended but not last
        ([Block(10, -1.0)], "block 1"),
        ([], "blocks"),
    ],
)
def test_blocks_that_overlap_or_make_no_sense_are_refused_naming_the_block(blocks, where):
    with pytest.raises(TariffError) as caught:
        block_charge(blocks, 5)
    assert caught.value.where == where


def test_negative_volumes_and_costs_are_refused_naming_the_field():
    with pytest.raises(TariffError) as caught:
        bill(Structure(per_m3=1), Household(m3=-3))
    assert caught.value.where == "m3"
    with pytest.raises(TariffError) as caught:
        Costs(operating={"energy": -5}).revenue_requirement  # noqa: B018 - the property raises
    assert caught.value.where == "energy"


def test_a_tariff_left_unchanged_loses_its_real_value():
    # Three years at 40 %, 45 % and 30 % inflation: prices × 2.639, the tariff keeps 37.9 %.
    assert real_erosion([0.40, 0.45, 0.30]) == pytest.approx(1 - 1 / (1.4 * 1.45 * 1.3))
    assert real_erosion([]) == 0


def test_the_phase_in_path_is_the_smallest_constant_real_increase_that_reaches_the_target():
    # Fees recover 100/150 today; without inflation, growth or elasticity recovery grows as
    # (1 + g)^t, so full recovery in 5 years needs g = 1.5^(1/5) − 1.
    scenario = Scenario(first_year=2025, years=10, tariff=1.0, demand=100, fixed_cost=150, unit_cost=0)
    path = phase_in(scenario, target=1.0, by_year=2030, cap=0.10)
    assert path.reached and path.increase == pytest.approx(1.5 ** (1 / 5) - 1)
    assert path.years[5].recovery == pytest.approx(1.0)
    # With a price elasticity of −0.5 half the increase is eaten by lower demand.
    elastic = Scenario(first_year=2025, years=10, tariff=1.0, demand=100, fixed_cost=150, unit_cost=0, elasticity=-0.5)
    assert phase_in(elastic, 1.0, 2030, 0.5).increase == pytest.approx(1.5 ** (2 / 5) - 1)
    # Inflation raises costs and the tariff alike: the real increase needed is the same.
    inflated = Scenario(first_year=2025, years=10, tariff=1.0, demand=100, fixed_cost=150, unit_cost=0, inflation=0.3)
    assert phase_in(inflated, 1.0, 2030, 0.10).increase == pytest.approx(path.increase)


def test_a_target_no_path_under_the_cap_reaches_is_said_and_the_closest_path_given():
    scenario = Scenario(first_year=2025, years=10, tariff=1.0, demand=100, fixed_cost=150, unit_cost=0)
    path = phase_in(scenario, target=1.0, by_year=2030, cap=0.05)
    assert not path.reached and path.increase == 0.05
    assert path.years[5].recovery == pytest.approx(100 / 150 * 1.05**5)
    assert "85" in path.problem and "100" in path.problem and "2030" in path.problem


@pytest.mark.parametrize(
    "change,where",
    [({"collection": 1.5}, "collection"), ({"elasticity": 0.3}, "elasticity"), ({"years": 0}, "years")],
)
def test_bad_scenario_figures_are_refused(change, where):
    figures = {"first_year": 2025, "years": 10, "tariff": 1.0, "demand": 100, "fixed_cost": 150, "unit_cost": 0}
    with pytest.raises(TariffError) as caught:
        phase_in(Scenario(**{**figures, **change}), 1.0, 2026, 0.1)
    assert caught.value.where == where


def test_affordability_by_income_group_and_the_cost_of_a_social_tariff():
    groups = [IncomeGroup("decile 1", 100, 500), IncomeGroup("decile 2", 100, 1000), IncomeGroup("decile 3", 100, 2000)]
    result = affordability(groups, household_bill=20, threshold=0.03)
    assert [round(s, 4) for _g, s in result.shares] == [0.04, 0.02, 0.01]
    assert result.households_above == 100 and result.share_above == pytest.approx(1 / 3)
    # Bringing decile 1's bill to 3 % of 500 = 15 costs 5 a household.
    assert result.subsidy == pytest.approx(500)
    with pytest.raises(TariffError) as caught:
        affordability(groups, 20, threshold=3)  # percent instead of a share
    assert caught.value.where == "threshold"
    with pytest.raises(TariffError) as caught:
        affordability([IncomeGroup("decile 1", 100, 0)], 20, 0.03)
    assert caught.value.where == "income row 1"


def test_customer_classes_show_who_pays_for_whom():
    from municipium.lib.tariffs import CustomerClass, by_class

    classes = [
        CustomerClass("households", demand=800, price=1.0, fixed_share=0.7),
        CustomerClass("business", demand=200, price=3.0, fixed_share=0.3),
    ]
    first, *_rest, last = by_class(classes, years=2, fixed_cost=1000, unit_cost=0.5)
    households, business = first
    # Households: revenue 800, cost 700 + 400 = 1,100 → subsidised by 300; business: 600 − (300 + 100) = +200.
    assert households.cross_subsidy == pytest.approx(-300) and business.cross_subsidy == pytest.approx(200)
    # A 10 % real increase for households only, demand at elasticity −0.2.
    classes[0].elasticity = -0.2
    last = by_class(classes, years=2, fixed_cost=1000, unit_cost=0.5, increase={"households": 0.1})[-1][0]
    demand = 800 * 1.1 ** (2 * -0.2)
    assert last.demand == pytest.approx(demand)
    assert last.revenue == pytest.approx(demand * 1.0 * 1.1**2)
    with pytest.raises(TariffError) as caught:
        by_class([CustomerClass("households", 1, 1, 0.5)], years=1, fixed_cost=1, unit_cost=0)
    assert caught.value.where == "fixed_share"
