"""The maths of lib/socialneed against hand-computed cases and published weights (cited in
tests/data/socialplanning/README.md), and 2SFCA / E2SFCA against PySAL's `access` package."""

import math

import numpy as np
import pytest

from municipium.lib.socialneed import catchment, need, projection, quotas

# Three settlements, two service points (tests/data/socialplanning/README.md, case A).
DEMAND = [1000, 2000, 500]
SUPPLY = [10, 5]
COST = np.array([[5.0, 20.0], [8.0, 12.0], [25.0, 6.0]])
LUO_QI = [(10, 1.0), (20, 0.68), (30, 0.22)]


def test_2sfca_by_hand():
    result = catchment.supply_to_demand(DEMAND, SUPPLY, COST, "none", size=15)
    assert result.ratio * 1000 == pytest.approx([10 / 3, 2.0])
    assert result.access * 1000 == pytest.approx([10 / 3, 16 / 3, 2.0])
    assert not result.unreached.any()


def test_e2sfca_with_luo_qi_zone_weights_by_hand():
    result = catchment.supply_to_demand(DEMAND, SUPPLY, COST, "step", steps=LUO_QI)
    assert result.ratio == pytest.approx([10 / 3110, 5 / 2540])
    assert result.access == pytest.approx([0.00455401, 0.00455401, 0.00267592], rel=1e-5)
    # Every place is counted once: Σ P_i A_i = Σ S_j when every service point is reached.
    assert float(np.dot(DEMAND, result.access)) == pytest.approx(sum(SUPPLY))


def test_a_service_point_no_one_reaches_counts_nowhere():
    result = catchment.supply_to_demand(DEMAND, [10, 5, 7], np.hstack([COST, [[90], [80], [70]]]), "none", size=15)
    assert result.unreached.tolist() == [False, False, True]
    assert result.ratio[2] == 0
    assert result.access * 1000 == pytest.approx([10 / 3, 16 / 3, 2.0])


def test_gaussian_decay_and_unreachable_pairs():
    cost = COST.copy()
    cost[2, 0] = np.nan  # no route
    w = catchment.weights(cost, "gaussian", size=30, sigma=10)
    assert w[0, 0] == pytest.approx(math.exp(-25 / 200))
    assert w[2, 0] == 0
    assert w[1, 1] == pytest.approx(math.exp(-144 / 200))


def test_straight_line_distances_in_a_projection():
    # Pazardzhik (24.333 E, 42.193 N) to Velingrad (23.992 E, 42.027 N): the local projection
    # agrees with the geodesic on the WGS84 ellipsoid within 0.1 %.
    from pyproj import Geod

    d = catchment.straight_line_km([(24.333, 42.193)], [(23.992, 42.027), (24.333, 42.193)])
    _, _, metres = Geod(ellps="WGS84").inv(24.333, 42.193, 23.992, 42.027)
    assert d[0, 0] == pytest.approx(metres / 1000, rel=1e-3)
    assert d[0, 1] == pytest.approx(0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"method": "none"}, "size"),
        ({"method": "step"}, "zones"),
        ({"method": "step", "steps": [(10, 1.5)]}, "weights"),
        ({"method": "gaussian", "size": 30}, "width"),
        ({"method": "magic", "size": 30}, "unknown"),
    ],
)
def test_bad_catchment_settings_are_refused(args, message):
    with pytest.raises(catchment.CatchmentError, match=message):
        catchment.weights(COST, **args)


def test_bad_points_and_shapes_are_refused():
    with pytest.raises(catchment.CatchmentError, match="outside the Earth"):
        catchment.straight_line_km([(200.0, 42.0)], [(24.0, 42.0)])
    with pytest.raises(catchment.CatchmentError, match="settlements × service points"):
        catchment.two_step(DEMAND, SUPPLY, np.ones((2, 2)))
    with pytest.raises(catchment.CatchmentError, match="negative"):
        catchment.weights(-COST, "none", size=5)


def _pysal_frames(demand, supply, cost):
    import pandas as pd

    demand_df = pd.DataFrame({"geoid": range(len(demand)), "demand": demand}).set_index("geoid")
    supply_df = pd.DataFrame({"geoid": range(len(supply)), "supply": supply}).set_index("geoid")
    rows = [(i, j, cost[i, j]) for i in range(cost.shape[0]) for j in range(cost.shape[1])]
    cost_df = pd.DataFrame(rows, columns=["origin", "dest", "cost"])
    return demand_df, supply_df, cost_df


def test_same_numbers_as_pysal_access():
    fca = pytest.importorskip("access.fca")
    pysal_weights = pytest.importorskip("access.weights")
    rng = np.random.default_rng(15)
    demand = rng.integers(50, 5000, 40).astype(float)
    supply = rng.integers(1, 60, 9).astype(float)
    cost = rng.uniform(0, 45, (40, 9))
    demand_df, supply_df, cost_df = _pysal_frames(demand, supply, cost)
    for ours, theirs in (
        (catchment.supply_to_demand(demand, supply, cost, "none", size=20), {"max_cost": 20}),
        (
            catchment.supply_to_demand(demand, supply, cost, "step", steps=LUO_QI),
            {"weight_fn": pysal_weights.step_fn({10: 1, 20: 0.68, 30: 0.22})},
        ),
        (
            catchment.supply_to_demand(demand, supply, cost, "gaussian", size=45, sigma=15),
            {"weight_fn": pysal_weights.gaussian(15), "max_cost": 45},
        ),
    ):
        series = fca.two_stage_fca(demand_df, supply_df, cost_df, **theirs)
        expected = series.reindex(range(40)).fillna(0).to_numpy()
        assert ours.access == pytest.approx(expected, rel=1e-9)


def test_need_gap_coverage_utilisation_and_flags():
    # 4.5 places per 1,000 people aged 65+ and 10 more per 1,000 aged 80+.
    need_ = need.normative_need([(2000, 4.5, 1000), (800, 4.5, 1000), (800, 10, 1000)])
    assert need_ == pytest.approx(20.6)
    line = need.Line(need=need_, capacity=15, users=15, waiting=4)
    assert line.gap == pytest.approx(5.6)
    assert line.coverage == pytest.approx(15 / 20.6)
    assert line.utilisation == 1
    assert line.flags() == ["under", "waiting"]
    assert need.Line(need=10, capacity=13, users=8).flags() == ["over"]
    assert need.Line(need=10, capacity=10, users=7).flags() == []
    blank = need.Line(need=0, capacity=0)
    assert blank.coverage is None and blank.utilisation is None


def test_roll_up_and_the_too_small_rule():
    lines = {"A": need.Line(6, 0), "B": need.Line(25, 20, users=18, waiting=2), "C": need.Line(0, 0)}
    up = need.roll_up(lines, minimum=10)
    assert (up.total.need, up.total.capacity, up.total.users, up.total.waiting) == (31, 20, 18, 2)
    assert up.too_small == ["A"] and up.recommendation == "shared"
    assert need.roll_up({"A": need.Line(3, 0), "B": need.Line(4, 0)}, minimum=10).recommendation == "district"
    assert need.roll_up(lines, minimum=5).recommendation == "municipal"
    assert need.roll_up(lines, minimum=5, level="district").recommendation == "district"


def test_bad_need_input_is_refused():
    with pytest.raises(need.NeedError):
        need.normative_need([(-1, 4.5, 1000)])
    with pytest.raises(need.NeedError):
        need.normative_need([(100, 4.5, 0)])
    with pytest.raises(need.NeedError):
        need.Thresholds(under=1.2)


def test_constant_rate_projection():
    rate = projection.growth_rate(1000, 1100, 4)
    assert rate == pytest.approx(1.1**0.25 - 1)
    assert projection.constant_rate({"65+": 1100}, {"65+": rate}, 8)["65+"] == pytest.approx(1331)
    with pytest.raises(projection.ProjectionError):
        projection.constant_rate({"65+": 1100}, {}, 8)


def test_cohort_component_projection_by_hand():
    rows = projection.cohort_component(
        [150, 650, 150, 50],
        [15, 50, 15, None],
        [0.999, 0.997, 0.97, 0.85],
        births_per_person=0.012,
        mothers=[1],
        years=2,
    )
    assert rows[1] == pytest.approx([147.66, 645.079, 148.761, 52.2])
    assert sum(rows[1]) == pytest.approx(993.7)
    assert len(rows) == 3
    with_migration = projection.cohort_component(
        [150, 650, 150, 50], [15, 50, 15, None], [0.999, 0.997, 0.97, 0.85], 0.012, [1], [0, -0.01, 0, 0], 1
    )
    assert with_migration[1][1] == pytest.approx(645.079 * 0.99)
    with pytest.raises(projection.ProjectionError, match="open"):
        projection.cohort_component([1, 2], [None, None], [1, 1], 0, [0])
    with pytest.raises(projection.ProjectionError, match="survival"):
        projection.cohort_component([1, 2], [5, None], [1.2, 1], 0, [0])


def test_cohort_component_by_sex_by_hand_and_against_the_sexes_together():
    # Women [100, 50], men [100, 40] in a 10-year band and an open one; 0.1 births per woman
    # of the first band, split half and half. By hand, one year: women survive [100, 45], a
    # tenth of the first band's survivors (10) moves up, 5 girls are born: [95, 55]; men
    # survive [100, 32]: [95, 42].
    rows = projection.cohort_component_by_sex(
        {"F": [100, 50], "M": [100, 40]},
        [10, None],
        {"F": [1, 0.9], "M": [1, 0.8]},
        0.1,
        [0],
        "F",
        {"F": 0.5, "M": 0.5},
        years=1,
    )
    assert rows[1]["F"] == pytest.approx([95, 55]) and rows[1]["M"] == pytest.approx([95, 42])
    # Without births, with one survival and migration for both sexes, the sexes added up
    # are the projection of the whole population (the step is linear).
    women, men = [150, 320, 80, 30], [160, 330, 70, 20]
    widths, survival, migration = [15, 50, 15, None], [0.999, 0.997, 0.97, 0.85], [0, -0.01, 0, 0.02]
    split = projection.cohort_component_by_sex(
        {"F": women, "M": men},
        widths,
        {"F": survival, "M": survival},
        0,
        [],
        "F",
        {"F": 0.5, "M": 0.5},
        {"F": migration, "M": migration},
        years=5,
    )
    whole = projection.cohort_component(
        [w + m for w, m in zip(women, men, strict=True)], widths, survival, 0, [], migration, 5
    )
    assert [f + m for f, m in zip(split[-1]["F"], split[-1]["M"], strict=True)] == pytest.approx(whole[-1])
    with pytest.raises(projection.ProjectionError, match="add up to 1"):
        projection.cohort_component_by_sex(
            {"F": [1], "M": [1]}, [None], {"F": [1], "M": [1]}, 0, [], "F", {"F": 0.6, "M": 0.6}
        )
    with pytest.raises(projection.ProjectionError, match="survival"):
        projection.cohort_component_by_sex(
            {"F": [1], "M": [1]}, [None], {"F": [1.5], "M": [1]}, 0, [], "F", {"F": 0.5, "M": 0.5}
        )
    assert projection.split_age_sex(["0-64 F", "65+ F", "0-64 M", "65+ M"]) == (["0-64", "65+"], ["F", "M"])
    assert projection.split_age_sex(["0-14", "15-64"]) is None
    assert projection.split_age_sex(["0-64 F", "65+ F", "0-64 M"]) is None  # not a full cross


def test_quotas_proportional_to_need_by_largest_remainder():
    assert quotas.quotas(30, {"A": 12.6, "B": 20.6, "C": 6.8}) == {"A": 9, "B": 16, "C": 5}
    assert quotas.quotas(0, {"A": 1, "B": 1}) == {"A": 0, "B": 0}
    assert sum(quotas.quotas(101, {"A": 1, "B": 1, "C": 1}).values()) == 101
    with pytest.raises(quotas.QuotaError):
        quotas.quotas(10, {"A": 0, "B": 0})


def test_age_band_widths_from_their_codes():
    assert projection.band_widths(["0-14", "15-64", "65-79", "80+"]) == [15, 50, 15, None]
    for bad in (["0-14", "16-64"], ["80+", "0-14"], ["0-14", "old"], ["14-0"]):
        with pytest.raises(projection.ProjectionError):
            projection.band_widths(bad)
