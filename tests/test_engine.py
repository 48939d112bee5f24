"""The compute engine: indicator values, group statistics and ranks from observations, kept
fresh by incremental refreshes that store exactly what a full recompute would."""

import math
import random

import numpy as np
import polars as pl
import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import TestCase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from municipium.benchmarks import engine, read
from municipium.benchmarks.models import GroupStatistic, RankSlice, ValueSeries
from municipium.lib import stats
from municipium.lib.formulas import FormulaError
from municipium.observations.models import Period, Status
from tests import derived
from tests import factories as f

pytestmark = pytest.mark.django_db

DRAFT, PUBLISHED = Status.DRAFT, Status.PUBLISHED


def stored_values(indicator, basis="all"):
    """{(unit code, period code): value} of the stored rows that have a value."""
    return derived.values(basis, indicator=indicator)


def stored(indicator, unit, period, basis="all"):
    return derived.one(indicator=indicator, unit=unit, period=f.period(period), basis=basis)


def slices_from_rows():
    """The ranks' slices as they should be, from the stored rows by `read.seen`'s rule:
    {(indicator, period, public): {unit: value}}, units with a value only."""
    rows = [(r.indicator_id, r.period_id, r.unit_id, r.basis, r.value) for r in derived.rows()]
    twins = {(i, p, u) for i, p, u, basis, _v in rows if basis == "published"}
    out: dict = {}
    for i, p, u, basis, v in rows:
        for public in (False, True):
            if v is not None and read.seen(basis, (i, p, u) in twins, public=public):
                out.setdefault((i, p, public), {})[u] = v
    return out


def stored_slices():
    """The ranks' slices as readers see them (`read._slices`): the public's own slice where
    one is stored, else the "all" one; a stored public slice differs from the "all" one."""
    stored = {}
    for i, p, public, first, blob in RankSlice.objects.values_list(
        "indicator_id", "period_id", "public", "first_unit", "numbers"
    ):
        numbers = np.frombuffer(blob, dtype=np.float64)
        # The array spans the units with a value: no NaN at either end; an empty public
        # slice (the public sees none) is the only one without numbers.
        if len(numbers):
            assert not np.isnan(numbers[0]) and not np.isnan(numbers[-1])
        else:
            assert public and first == 0
        stored[(i, p, public)] = {first + k: float(v) for k, v in enumerate(numbers) if not np.isnan(v)}
    out = {}
    for (i, p, public), values in stored.items():
        if public:
            assert (i, p, False) not in stored or stored[(i, p, False)] != values
        elif (i, p, True) not in stored and values:
            out[(i, p, True)] = values
        if values:
            out[(i, p, public)] = values
    return out


def snapshot():
    """Everything the engine stores, without ids and times. The ranks' slices must hold
    exactly the stored rows' values, each reader's (checked here, so every test taking a
    snapshot checks it)."""
    assert stored_slices() == slices_from_rows()
    return {
        "values": {
            r.key: tuple(getattr(r, c) for c in engine.VALUE_COLUMNS) for r in derived.rows(breakdown=derived.ANY)
        },
        "statistics": {
            (r["indicator_id"], r["group_id"], r["period_id"], r["basis"]): tuple(r[c] for c in engine.STAT_COLUMNS)
            for r in GroupStatistic.objects.values()
        },
    }


def _close(row, other) -> bool:
    """Two snapshot rows equal up to the last bits of sums taken in another order."""
    return row is not None and all(
        (x is None and y is None)
        or (x is not None and y is not None and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9))
        for x, y in zip(row, other, strict=True)
    )


def same(a, b):
    """Snapshots equal up to the last bits of sums taken in another order."""
    assert a.keys() == b.keys()
    for table in a:
        assert a[table].keys() == b[table].keys(), table
        for key, row in a[table].items():
            other = b[table][key]
            assert all(
                (x is None and y is None)
                or (x is not None and y is not None and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9))
                for x, y in zip(row, other, strict=True)
            ), (table, key, row, other)
    return True


def drop_derived():
    derived.delete()
    GroupStatistic.objects.all().delete()
    RankSlice.objects.all().delete()


@pytest.fixture
def water():
    produced, billed = f.variable("produced"), f.variable("billed")
    nrw = f.indicator("nrw", "100 * (produced - billed) / produced", polarity="lower_is_better")
    return produced, billed, nrw


# -- values --------------------------------------------------------------------------------


def test_a_ratio_is_computed_with_its_parts_and_missing_or_zero_division_gives_no_value(water):
    produced, billed, nrw = water
    a, b, c, d = (f.unit(code) for code in "ABCD")
    f.observe(a, produced, 2024, 200), f.observe(a, billed, 2024, 150)
    f.observe(b, produced, 2024, missing="confidential"), f.observe(b, billed, 2024, 10)
    f.observe(c, produced, 2024, 0), f.observe(c, billed, 2024, 0)
    f.observe(d, billed, 2024, 10)
    engine.recompute_all()
    assert stored_values(nrw) == {("A", "2024"): 25.0}
    # The others are stored without a value, saying why (DESIGN principle 2).
    assert [(u.code, stored(nrw, u, 2024).value, stored(nrw, u, 2024).missing) for u in (a, b, c, d)] == [
        ("A", 25.0, ""),
        ("B", None, "confidential"),
        ("C", None, "not_applicable"),
        ("D", None, "not_collected"),
    ]
    row = stored(nrw, a, 2024)
    assert (row.numerator, row.denominator) == (100 * 50, 200)
    frame = engine.compute_indicator(nrw)
    # Every unit that reported something has a row; the value says what could be computed.
    assert dict(zip(frame["unit_id"], frame["value"], strict=True)) == {a.pk: 25.0, b.pk: None, c.pk: None, d.pk: None}


def test_lags_read_earlier_periods_of_the_same_unit_only():
    x = f.variable("x")
    growth = f.indicator("growth", "x - lag(x)")
    a, b = f.unit("A"), f.unit("B")
    for year, value in [(2020, 1), (2021, 4), (2023, 10)]:  # 2022 never reported
        f.observe(a, x, year, value)
    f.observe(b, x, 2021, 100), f.observe(b, x, 2022, 150)
    f.period(2019)  # an earlier period must not pull unit B's lag from unit A's rows
    engine.recompute_all()
    assert stored_values(growth) == {("A", "2021"): 3.0, ("B", "2022"): 50.0}


def test_two_period_lag_and_a_lag_inside_a_referenced_indicator():
    x = f.variable("x")
    f.indicator("step", "x - lag(x)")
    second = f.indicator("second", "step - lag(step)")
    a = f.unit("A")
    for year, value in [(2020, 1), (2021, 3), (2022, 7), (2023, 15)]:
        f.observe(a, x, year, value)
    engine.recompute_all()
    assert stored_values(second) == {("A", "2022"): 2.0, ("A", "2023"): 4.0}


def test_a_breakdown_is_read_as_total_category_or_sum_over_categories():
    sex = f.breakdown("sex", ["F", "M", "X"])
    pop = f.variable("pop", breakdown=sex)
    total, women, summed, listed = (
        f.indicator("total", "pop"),
        f.indicator("women", 'pop["F"]'),
        f.indicator("summed", "sum(pop)"),
        f.indicator("listed", 'sum(pop, "F", "X")'),
    )
    a, b, c = f.unit("A"), f.unit("B"), f.unit("C")
    f.observe(a, pop, 2024, 100), f.observe(a, pop, 2024, 40, breakdown="F"), f.observe(a, pop, 2024, 50, breakdown="M")
    f.observe(a, pop, 2024, 7, breakdown="X")
    # B: one category missing, the sum is the sum of what is known.
    f.observe(b, pop, 2024, 30, breakdown="F"), f.observe(b, pop, 2024, missing="not_collected", breakdown="M")
    # C: every category missing, so is the sum.
    (
        f.observe(c, pop, 2024, missing="confidential", breakdown="F"),
        f.observe(c, pop, 2024, missing="confidential", breakdown="M"),
    )
    engine.recompute_all()
    assert stored_values(total) == {("A", "2024"): 100.0}
    assert stored_values(women) == {("A", "2024"): 40.0, ("B", "2024"): 30.0}
    assert stored_values(summed) == {("A", "2024"): 97.0, ("B", "2024"): 30.0}
    assert stored_values(listed) == {("A", "2024"): 47.0, ("B", "2024"): 30.0}


def test_an_indicator_can_use_other_indicators(water):
    produced, billed, nrw = water
    lost = f.indicator("lost", "nrw / 100 * produced")
    doubled = f.indicator("doubled", "2 * lost + lag(nrw)")
    a = f.unit("A")
    for year, (p, b) in {2023: (100, 90), 2024: (200, 150)}.items():
        f.observe(a, produced, year, p), f.observe(a, billed, year, b)
    engine.recompute_all()
    assert stored_values(lost) == {("A", "2023"): pytest.approx(10.0), ("A", "2024"): pytest.approx(50.0)}
    assert stored_values(doubled) == {("A", "2024"): pytest.approx(100.0 + 10.0)}
    assert affected_codes([billed.pk]) == {"nrw", "lost", "doubled"}


def affected_codes(variable_ids):
    from municipium.catalog.models import Indicator

    return set(Indicator.objects.filter(pk__in=engine.affected_indicators(variable_ids)).values_list("code", flat=True))


def test_change_change_pct_and_trend():
    x = f.variable("x")
    ind = f.indicator("level", "x")
    a = f.unit("A")
    for year, value in [(2018, 10), (2019, -5), (2020, 0), (2022, 20), (2023, 30)]:
        f.observe(a, x, year, value)
    engine.recompute_all()
    rows = {r.period_code: r for r in derived.rows(indicator=ind)}
    assert (rows["2019"].change, rows["2019"].change_pct) == (-15.0, -150.0)
    assert (rows["2020"].change, rows["2020"].change_pct) == (5.0, 100.0)  # from −5 up to 0: a rise
    assert (rows["2022"].change, rows["2022"].change_pct) == (None, None)  # 2021 unknown
    assert rows["2018"].trend is None and rows["2019"].trend is None
    expected = stats.trend_slope([(2016, None), (2017, None), (2018, 10), (2019, -5), (2020, 0)])
    assert rows["2020"].trend == pytest.approx(expected)
    expected = stats.trend_slope([(2019, -5), (2020, 0), (2021, None), (2022, 20), (2023, 30)])
    assert rows["2023"].trend == pytest.approx(expected)
    f.observe(a, x, 2023, missing="not_shared")
    engine.recompute_all()
    row = derived.one(indicator=ind, period="2023")
    assert (row.value, row.missing, row.change, row.trend) == (None, "not_shared", None, None)


def test_quarterly_indicators_lag_across_the_year_boundary():
    q = f.variable("q", period_kind="quarter")
    ind = f.indicator("qq", "q - lag(q)", period_kind="quarter")
    yearly = f.indicator("yearly", "q")  # reads only yearly periods of q: none
    a = f.unit("A")
    f.observe(a, q, "2023Q4", 5), f.observe(a, q, "2024Q1", 8)
    engine.recompute_all()
    assert stored_values(ind) == {("A", "2024Q1"): 3.0}
    assert stored_values(yearly) == {}


def test_a_broken_formula_is_reported_and_leaves_no_stale_values(water):
    produced, billed, nrw = water
    a = f.unit("A")
    f.observe(a, produced, 2024, 10), f.observe(a, billed, 2024, 5)
    uses = f.indicator("uses", "nrw * 2")
    engine.recompute_all()
    assert stored_values(uses) == {("A", "2024"): 100.0}
    nrw.formula = "produced - nothing_like_this"
    nrw.save()
    result = engine.recompute_all()
    assert set(result.errors) == {"nrw", "uses"}
    assert stored_values(uses) == {} and stored_values(nrw) == {}
    with pytest.raises(FormulaError):
        engine.compute_indicator(uses)


def test_a_formula_saved_past_the_bounds_is_an_error_and_never_sizes_the_work(water):
    # Saved before formulas were bounded (or straight into the database): the engine must
    # report it, not range over 10**18 periods (it used to spin with a transaction open).
    produced, billed, nrw = water
    a = f.unit("A")
    obs = f.observe(a, produced, 2024, 10)
    far = f.indicator("far", "lag(produced, 1000000000000000000)")
    result = engine.recompute_changed([produced.pk], [obs.period_id])
    assert "far" in result.errors and stored_values(far) == {}
    assert engine.affected_periods(far, [obs.period_id]) == [obs.period_id]


# -- groups --------------------------------------------------------------------------------


def test_group_statistics_ranks_and_percentiles_follow_polarity_with_ties(water):
    produced, billed, nrw = water  # lower is better
    members = [f.unit(f"M{i}") for i in range(5)]
    outsider = f.unit("OUT")
    group = f.group("peers", members)
    for u, (p, b) in zip(members, [(100, 90), (100, 80), (100, 80), (200, 100), (None, 10)], strict=True):
        f.observe(u, produced, 2024, p), f.observe(u, billed, 2024, b)
    f.observe(outsider, produced, 2024, 100), f.observe(outsider, billed, 2024, 0)
    engine.recompute_all()
    stat = GroupStatistic.objects.get(indicator=nrw, group=group)
    assert (stat.members, stat.n) == (5, 4)
    assert (stat.min, stat.median, stat.max) == (10.0, 20.0, 50.0)
    assert stat.mean == pytest.approx((10 + 20 + 20 + 50) / 4)
    assert stat.pooled == pytest.approx(100 * (10 + 20 + 20 + 100) / (100 + 100 + 100 + 200))
    assert stat.p25 == stats.quantile([10, 20, 20, 50], 0.25)
    ranks = {r.unit.code: (r.rank, r.n, r.percentile) for r in read.ranks(nrw, f.period(2024), group, public=False)}
    assert ranks == {
        "M0": (1, 4, 100.0),
        "M1": (2, 4, pytest.approx(200 / 3)),
        "M2": (2, 4, pytest.approx(200 / 3)),
        "M3": (4, 4, 0.0),
    }


def test_membership_and_unit_validity_decide_who_counts_in_a_period():
    x = f.variable("x")
    ind = f.indicator("level", "x", polarity="higher_is_better")
    stays, leaves, joins = f.unit("STAYS"), f.unit("LEAVES"), f.unit("JOINS")
    dissolved = f.unit("GONE", valid_to="2021-06-30")
    group = f.group("g", [stays, dissolved])
    f.membership(group, leaves, valid_to="2020-12-31")
    f.membership(group, joins, valid_from="2022-01-01")
    for u in (stays, leaves, joins, dissolved):
        for year in (2020, 2021, 2022):
            f.observe(u, x, year, 1.0)
    engine.recompute_all()
    counted = {s.period.code: s.members for s in GroupStatistic.objects.filter(indicator=ind).select_related("period")}
    assert counted == {"2020": 3, "2021": 2, "2022": 2}
    assert {r.unit.code for r in read.ranks(ind, f.period(2022), group, public=False)} == {"STAYS", "JOINS"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    members=st.lists(
        st.one_of(st.just("absent"), st.just("missing"), st.integers(-50, 50).map(float)), min_size=1, max_size=9
    ),
    polarity=st.sampled_from(["higher_is_better", "lower_is_better", "neutral"]),
)
def test_stored_group_statistics_and_ranks_match_the_plain_definitions(water, members, polarity):
    produced, billed, nrw = water
    with transaction.atomic():
        nrw.polarity = polarity
        nrw.save()
        units = [f.unit() for _ in members]
        group = f.group(None, units)
        values, parts = [], []
        for u, member in zip(units, members, strict=True):
            if member == "absent":
                values.append(None), parts.append((None, None))
                continue
            if member == "missing":
                f.observe(u, produced, 2024, missing="not_shared"), f.observe(u, billed, 2024, 1)
                values.append(None), parts.append((None, None))
                continue
            f.observe(u, produced, 2024, 100), f.observe(u, billed, 2024, 100 - member)
            values.append(member), parts.append((100 * member, 100.0))
        engine.refresh([nrw.pk])
        expected = stats.summary(values, [p[0] for p in parts], [p[1] for p in parts])
        found = GroupStatistic.objects.filter(indicator=nrw, group=group).first()
        if expected["n"] == 0:
            assert found is None
        else:
            assert found.members == len(members)
            for name in stats.SUMMARY_COLUMNS:
                assert getattr(found, name) == pytest.approx(expected[name], abs=1e-9), name
        ranked = read.ranks(nrw, f.period(2024), group, public=False)
        ranks = {r.unit.pk: r.rank for r in ranked}
        percentiles = {r.unit.pk: r.percentile for r in ranked}
        for u, rank, pct in zip(
            units, stats.competition_ranks(values, polarity), stats.percentiles(values, polarity), strict=True
        ):
            assert ranks.get(u.pk) == rank
            assert percentiles.get(u.pk) == (None if pct is None else pytest.approx(pct))
        transaction.set_rollback(True)


# -- basis -----------------------------------------------------------------------------------


def test_published_figures_never_stand_on_unpublished_observations(water):
    produced, billed, nrw = water
    a, b, c = f.unit("A"), f.unit("B"), f.unit("C")
    group = f.group("g", [a, b, c])
    for year in (2022, 2023):
        for u in (a, b, c):
            f.observe(u, produced, year, 100), f.observe(u, billed, year, 90)
    f.observe(a, produced, 2024, 100), f.observe(a, billed, 2024, 50)
    f.observe(b, produced, 2024, 100), f.observe(b, billed, 2024, 70, status=DRAFT)  # not public yet
    f.observe(c, produced, 2024, 100, status="approved"), f.observe(c, billed, 2024, 80, status="approved")
    engine.recompute_all()
    y22, y24 = f.period(2022), f.period(2024)

    inside = {v.unit.code: v.value for v in read.values(nrw, y24, public=False)}
    public = {v.unit.code: v.value for v in read.values(nrw, y24, public=True)}
    assert inside == {"A": 50.0, "B": 30.0, "C": 20.0}
    assert public == {"A": 50.0}
    assert read.statistic(nrw, y24, group, public=True).n == 1
    assert read.statistic(nrw, y24, group, public=True).median == 50.0
    assert read.statistic(nrw, y24, group, public=False).n == 3
    assert [(r.unit.code, r.rank) for r in read.ranks(nrw, y24, group, public=True)] == [("A", 1)]
    # A period whose window is all published has no published rows: the "all" rows are public.
    assert not derived.exists(period=y22, basis="published", breakdown=derived.ANY)
    # C's 2024 published row has neither value nor reason (the published data give C no row):
    # it lives in C's "all" series (series.HIDDEN), not a series of its own. B's has a reason
    # (its billed water is not reported publicly), so it is a series.
    twins = derived.rows(period=y24, basis="published", breakdown=derived.ANY)
    assert {(r.unit_code, r.value, r.missing) for r in twins} == {("B", None, "not_collected"), ("C", None, "")}
    assert not ValueSeries.objects.filter(indicator=nrw, unit=c, basis="published").exists()
    assert ValueSeries.objects.filter(indicator=nrw, unit=b, basis="published").exists()
    assert {v.unit.code for v in read.values(nrw, y22, public=True)} == {"A", "B", "C"}
    # The change into 2024 is public only where 2024 is: B's draft does not leak through it.
    assert [(v.period.code, v.change) for v in read.series(nrw, b, public=True)] == [("2022", None), ("2023", 0.0)]
    assert engine.compute_indicator(nrw, [y24], basis="published")["value"].to_list() == [
        50.0,
        None,
    ]  # C reported nothing public

    # Everything published: the published rows go, and the public sees all three.
    for u in (b, c):
        f.observe(u, billed, 2024, {b: 70, c: 80}[u], status=PUBLISHED)
    f.observe(c, produced, 2024, 100, status=PUBLISHED)
    engine.refresh([nrw.pk])
    assert not derived.exists(basis="published", breakdown=derived.ANY)
    assert not GroupStatistic.objects.filter(basis="published").exists()
    assert {v.unit.code: v.value for v in read.values(nrw, y24, public=True)} == inside


def test_a_slice_with_no_published_value_still_hides_its_unpublished_figures(water):
    produced, billed, nrw = water
    a = f.unit("A")
    group = f.group("g", [a])
    f.observe(a, produced, 2024, 100, status=DRAFT), f.observe(a, billed, 2024, 50, status=DRAFT)
    engine.recompute_all()
    y24 = f.period(2024)
    assert [v.value for v in read.values(nrw, y24, public=False)] == [50.0]
    assert list(read.values(nrw, y24, public=True)) == []
    assert read.statistic(nrw, y24, group, public=True).n == 0
    assert list(read.ranks(nrw, y24, group, public=True)) == []
    assert read.series(nrw, a, public=True) == []


# -- freshness --------------------------------------------------------------------------------


def test_saving_observations_updates_indicator_values_at_once(water, django_capture_on_commit_callbacks):
    produced, billed, nrw = water
    a = f.unit("A")
    with django_capture_on_commit_callbacks(execute=True):
        f.write([f.row(a, produced, 2024, 200), f.row(a, billed, 2024, 150)])
    assert stored_values(nrw) == {("A", "2024"): 25.0}
    with django_capture_on_commit_callbacks(execute=True):
        f.write([f.row(a, billed, 2024, 100)])
    assert stored_values(nrw) == {("A", "2024"): 50.0}
    with django_capture_on_commit_callbacks(execute=True):
        f.write([f.row(a, produced, 2024, missing="confidential")])
    assert stored_values(nrw) == {}


def test_the_publics_change_and_trend_after_a_draft_year_rest_on_published_values_only(water):
    """A value's change and trend are derived on reading (`series.derive`): the public's
    must be the published basis' own, never the "all" ones where a year in their window is
    still a draft, on every reader's path (a unit's series, one period's figures)."""
    produced, billed, nrw = water
    a = f.unit("A")
    f.group("g", [a])
    for year in range(2018, 2025):
        f.observe(a, produced, year, 100)
        f.observe(a, billed, year, 60 + 3 * (year % 4) + (year == 2021), status=DRAFT if year == 2022 else PUBLISHED)
    engine.recompute_all()
    published = engine.compute_indicator(nrw, basis="published")
    everyone = engine.compute_indicator(nrw)
    code = {p.pk: p.code for p in Period.objects.all()}
    want = {code[r["period_id"]]: (r["value"], r["change"], r["trend"]) for r in published.iter_rows(named=True)}
    got = {v.period.code: (v.value, v.change, v.trend) for v in read.series(nrw, a, public=True)}
    assert got == {p: figures for p, figures in want.items() if figures[0] is not None}
    assert got["2023"][1] is None and got["2024"][2] is not None  # no change from 2022's draft
    inside = {v.period.code: v.change for v in read.series(nrw, a, public=False)}
    change = everyone.filter(pl.col("period_id") == f.period(2023).pk)["change"].item()
    assert change is not None and inside["2023"] == change  # on all data, 2022's value is there
    for year in ("2023", "2024", "2025"):
        if year in got:
            seen = read.value(nrw, a, f.period(year), public=True)
            assert (seen.value, seen.change, seen.trend) == got[year], year


def test_a_one_observation_change_rewrites_only_the_rows_it_changes(water):
    produced, billed, nrw = water
    units = [f.unit(f"U{i:02}") for i in range(20)]
    group = f.group("g", units)
    for year in range(2010, 2025):
        for i, u in enumerate(units):
            f.observe(u, produced, year, 1000 + i), f.observe(u, billed, year, 900 - i * year % 7)
    engine.recompute_all()
    before = snapshot()
    assert engine.recompute_all().written == {engine.IV_TABLE: 0, engine.GS_TABLE: 0}

    obs = f.observe(units[3], billed, 2016, 500)
    result = engine.recompute_changed([billed.pk], [obs.period_id])
    after = snapshot()
    changed = {t: {k for k in after[t] if not _close(before[t].get(k), after[t][k])} for t in after}
    # 2016's value, the change into 2016 and 2017 and the trends through 2020, except 2018's:
    # 2016 is the middle of its window, which leaves a least-squares slope unchanged (to
    # rounding: the trend is derived from the values on reading, `series.derive`).
    years = (2016, 2017, 2019, 2020)
    assert {(k[1], k[2]) for k in changed["values"]} == {(units[3].pk, f.period(y).pk) for y in years}
    assert {k[2] for k in changed["statistics"]} == {f.period(2016).pk}
    # Written: 2016's value and its group's statistic. The changes and trends after it are
    # derived from the values on reading (`series.derive`), and read anew above.
    assert result.written[engine.IV_TABLE] == 1 and result.written[engine.GS_TABLE] == 1
    assert sum(result.deleted.values()) == 0
    assert engine.affected_periods(nrw, [obs.period_id]) == [f.period(y).pk for y in range(2016, 2021)]
    assert group.pk == next(iter(changed["statistics"]))[1]
    drop_derived()
    engine.recompute_all()
    assert same(snapshot(), after)


def test_a_save_rewrites_only_the_ranks_slices_whose_values_it_changes(water):
    produced, billed, nrw = water
    units = [f.unit(f"U{i:02}") for i in range(8)]
    f.group("g", units)
    for year in range(2014, 2021):
        for i, u in enumerate(units):
            f.observe(u, produced, year, 1000 + i), f.observe(u, billed, year, 900 - i)
    engine.recompute_all()

    def slice_rows():
        rows = RankSlice.objects.filter(indicator=nrw).values_list("period_id", "public", "pk")
        return {(period_id, public): pk for period_id, public, pk in rows}

    before = slice_rows()
    obs = f.observe(units[3], billed, 2016, 500)
    engine.recompute_changed([billed.pk], [obs.period_id], [units[3].pk])
    after = slice_rows()
    snapshot()  # the slices are still those the stored rows make
    # 2016's values changed; 2017-2020 only in their change and trend columns, which no
    # rank reads: those slices are the rows they were.
    rewritten = {key[0] for key, pk in after.items() if before.get(key) != pk}
    assert rewritten == {f.period(2016).pk}
    assert set(after) == set(before)


def test_a_save_of_one_unit_reads_its_groups_members_only_and_stores_what_a_full_recompute_stores(water, monkeypatch):
    produced, billed, nrw = water
    units = [f.unit(f"U{i}") for i in range(8)]
    f.group("g1", units[0:3])
    f.group("g2", units[3:6])  # units 6 and 7 are in no group
    f.write(
        f.row(u, v, year, 100 + i + (v == billed) * year % 13)
        for i, u in enumerate(units)
        for v in (produced, billed)
        for year in range(2019, 2023)
    )
    engine.recompute_all()
    read_units, read_periods, periods = [], [], []  # periods: those of the last save's reads
    real = engine._read_observations

    def reading(*args):
        read_units.append(args[3] if len(args) > 3 else None)
        read_periods.append(len(args[1]))
        return real(*args)

    monkeypatch.setattr(engine, "_read_observations", reading)

    def save(unit, year, value, status=PUBLISHED):
        read_units.clear(), read_periods.clear()
        with TestCase.captureOnCommitCallbacks(execute=True):
            f.write([f.row(units[unit], billed, year, value, status=status)])
        read = [None if r is None else sorted(r) for r in read_units]
        periods[:] = read_periods
        incremental = snapshot()
        drop_derived()
        engine.recompute_all()
        assert same(snapshot(), incremental)
        return read

    ids = [u.pk for u in units]
    # The unit over the window its values read (2016-2020 for 2020's trend: 2019 and 2020
    # exist), the other members of its group over the one period whose statistics it moves
    # (the formula has no lag).
    assert save(1, 2020, 50) == [[ids[1]], [ids[0], ids[2]]]
    assert periods == [4, 1]
    assert save(7, 2020, 50) == [[ids[7]]]
    # A first draft in slices that were all published: published rows only where the
    # published figures differ, the unit's own (unit 6 is in no group), read in its scope.
    assert save(6, 2020, 60, DRAFT) == [ids[6:7]]

    def published():
        return {(r.unit_id, r.period_code) for r in derived.rows(basis="published", breakdown=derived.ANY)}

    def published_statistics():
        return set(GroupStatistic.objects.filter(basis="published").values_list("group__code", "period__code"))

    assert published() == {(ids[6], str(year)) for year in (2020, 2021, 2022)}
    assert published_statistics() == set()
    # A draft of a group's member: its rows and its group's statistics.
    assert save(1, 2020, 70, DRAFT) == [[ids[1]], [ids[0], ids[2]]]
    assert published() == {(unit, str(year)) for unit in (ids[1], ids[6]) for year in (2020, 2021, 2022)}
    assert ("g1", "2020") in published_statistics()
    assert save(4, 2021, 80) == [[ids[4]], [ids[3], ids[5]]]  # unit 4's figures rest on published data only
    assert published_statistics() <= {("g1", str(year)) for year in (2020, 2021, 2022)}
    # Published again: each unit's published rows go with its last draft, its groups' too.
    assert save(6, 2020, 60) == [ids[6:7]]
    assert published() == {(ids[1], str(year)) for year in (2020, 2021, 2022)}
    assert save(1, 2020, 70) == [[ids[1]], [ids[0], ids[2]]]
    assert not derived.exists(basis="published", breakdown=derived.ANY)
    assert not GroupStatistic.objects.filter(basis="published").exists()
    monkeypatch.setattr(engine, "SCOPE_MAX_UNITS", 2)  # a group as large as the country
    assert save(1, 2020, 90) == [None]


EDIT = st.tuples(
    st.integers(0, 5),  # unit
    st.sampled_from(["produced", "billed", "pop_F", "pop_M"]),
    st.integers(2019, 2024),  # year
    st.one_of(st.none(), st.integers(0, 120).map(float)),  # None = a missing code
    st.sampled_from([DRAFT, PUBLISHED]),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.lists(EDIT, min_size=1, max_size=4), min_size=1, max_size=4), seed=st.integers(0, 1000))
def test_incremental_refreshes_store_what_a_full_recompute_stores(water, edits, seed):
    produced, billed, nrw = water
    with transaction.atomic():
        sex = f.breakdown(f"sex{seed}", ["F", "M"])
        pop = f.variable(f"pop{seed}", breakdown=sex)
        f.indicator(f"per_head{seed}", f"(produced - lag(billed)) / sum(pop{seed})", polarity="higher_is_better")
        f.indicator(f"share_f{seed}", f'nrw * pop{seed}["F"] / pop{seed}', polarity="lower_is_better")
        units = [f.unit() for _ in range(4)] + [f.unit(valid_to="2021-06-30"), f.unit()]
        f.group(None, units[:3])
        f.group(None, units[1:5], valid_from="2021-01-01")
        f.group(None, [units[0], units[3]], valid_to="2020-12-31")  # units[5] is in no group
        rng = random.Random(seed)
        f.write(
            [
                f.row(u, v, year, rng.randint(1, 100), status=rng.choice([DRAFT, PUBLISHED]))
                for u in units
                for v in (produced, billed)
                for year in (2019, 2020, 2021)
            ]
        )
        engine.recompute_all()
        variables = {"produced": (produced, ""), "billed": (billed, ""), "pop_F": (pop, "F"), "pop_M": (pop, "M")}
        for batch in edits:
            with TestCase.captureOnCommitCallbacks(execute=True):
                f.write(
                    [
                        f.row(units[u], variables[name][0], year, value, breakdown=variables[name][1], status=status)
                        for u, name, year, value, status in batch
                    ]
                )
        incremental = snapshot()
        drop_derived()
        engine.recompute_all()
        assert same(snapshot(), incremental)
        transaction.set_rollback(True)


def test_recompute_all_reports_progress_and_a_summary(water):
    produced, billed, nrw = water
    f.observe(f.unit("A"), produced, 2024, 1), f.observe(f.unit("B"), billed, 2024, 1)
    seen = []
    result = engine.recompute_all(progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 1), (1, 1)]
    assert result.indicators == 1 and "1 indicators" in result.summary()


def test_the_tasks_run_the_engine(water):
    from municipium.benchmarks import tasks

    produced, billed, nrw = water
    a = f.unit("A")
    f.observe(a, produced, 2024, 10), f.observe(a, billed, 2024, 5)
    report = tasks.recompute_changed.enqueue(variable_ids=[billed.pk], period_ids=[f.period(2024).pk]).return_value
    assert report["indicators"] == 1 and stored_values(nrw) == {("A", "2024"): 50.0}
    assert tasks.recompute_everything.enqueue().return_value["indicators"] == 1


def test_deleting_an_indicator_or_a_unit_takes_its_derived_rows_with_it(water):
    produced, billed, nrw = water
    a, b = f.unit("A"), f.unit("B")
    f.group("g", [a, b])
    for u in (a, b):
        f.observe(u, produced, 2024, 100), f.observe(u, billed, 2024, 80)
    engine.recompute_all()
    assert derived.exists(unit=b)
    b.observations.all().delete()  # observations PROTECT the unit; a real removal deletes them first
    b.delete()
    assert {r.unit_code for r in derived.rows(breakdown=derived.ANY)} == {"A"}
    # The ranks' slices keep the deleted unit's place until they are next written (readers
    # ask only for units that exist); the next refresh of the slice drops it.
    assert RankSlice.objects.filter(indicator=nrw).exists()
    f.observe(a, produced, 2024, 90)
    engine.refresh([nrw.pk])
    assert stored_slices() == slices_from_rows()
    nrw.delete()
    assert not derived.exists(breakdown=derived.ANY) and not GroupStatistic.objects.exists()
    assert not RankSlice.objects.exists()


def test_indicators_computed_side_by_side_get_what_each_gets_alone(monkeypatch):
    """A full recompute evaluates indicators in batches on one wide frame; an indicator's
    figures must not depend on which others share its batch (inputs, lags, windows,
    breakdowns, missing codes, published or not)."""
    sex = f.breakdown("sexb", ["F", "M"])
    pop = f.variable("popb", breakdown=sex)
    produced, billed = f.variable("producedb"), f.variable("billedb")
    indicators = [
        f.indicator("b_total", "popb"),
        f.indicator("b_women", 'popb["F"] / popb'),
        f.indicator("b_summed", "sum(popb)"),
        f.indicator("b_lag2", "producedb - lag(billedb, 2)"),
        f.indicator("b_ratio", "100 * billedb / producedb", polarity="lower_is_better"),
        f.indicator("b_constant", "42"),
    ]
    units = [f.unit() for _ in range(5)]
    f.group(None, units[:3]), f.group(None, units[2:])
    rng = random.Random(3)
    rows = []
    for u in units:
        for year in range(2016, 2025):
            for variable, breakdown in ((produced, ""), (billed, ""), (pop, ""), (pop, "F"), (pop, "M")):
                draw = rng.random()
                if draw < 0.15:
                    continue  # not reported
                status = DRAFT if rng.random() < 0.2 else PUBLISHED
                if draw < 0.25:
                    rows.append(
                        f.row(u, variable, year, None, breakdown=breakdown, status=status, missing="confidential")
                    )
                else:
                    rows.append(f.row(u, variable, year, rng.randint(0, 50), breakdown=breakdown, status=status))
    f.write(rows)
    ctx = engine.Context()
    specs = [ctx.spec(i.pk) for i in indicators]
    together = engine._compute_batch(ctx, specs, None)
    for spec in specs:
        alone = engine._compute_batch(ctx, [spec], None)[spec.id]
        # Published figures over every period, as compute_indicator asks for them.
        everywhere = engine._compute_batch(ctx, [spec], None, published_everywhere=True)[spec.id]
        assert together[spec.id].unpublished == alone.unpublished == everywhere.unpublished, spec.code
        # What a batch computes on the published basis is what is stored: the periods with
        # unpublished inputs of the spec itself (its neighbours' may add more).
        flagged = [p for p, o in ctx.period_ordinal.items() if o in alone.unpublished]
        # The data have drafts in every year; a constant reads nothing unpublished.
        assert bool(flagged) == bool(spec.variable_ids), spec.code
        for basis in engine.BASES:
            for part in ("values", "statistics"):
                frames = [getattr(c, part)[basis] for c in (together[spec.id], alone, everywhere)]
                if basis == engine.Basis.PUBLISHED:
                    frames = [frame.filter(pl.col("period_id").is_in(flagged)) for frame in frames]
                if basis == engine.Basis.ALL and part == "values":
                    # A store computes the trends only where a published row may be stored
                    # (flagged), to compare them: readers derive them (`series.derive`).
                    trend = pl.when(pl.col("period_id").is_in(flagged)).then(pl.col("trend"))
                    frames[2] = frames[2].with_columns(trend.alias("trend"))
                a, b, c = (frame.sort(pl.all()) for frame in frames)
                assert a.equals(b) and a.equals(c), (spec.code, basis, part)
    # And a full recompute stores the same whatever the batch size.
    monkeypatch.setattr(engine, "BATCH", 1)
    engine.recompute_all(force=True)
    one_by_one = snapshot()
    drop_derived()
    monkeypatch.setattr(engine, "BATCH", 4)
    engine.recompute_all(force=True)
    assert same(snapshot(), one_by_one)
    assert one_by_one["values"]


def test_slices_made_anew_from_the_stored_rows_are_those_the_engine_wrote(water):
    # engine.rebuild_slices is what migration 0004 runs on a database whose values were
    # stored before the slices existed.
    produced, billed, nrw = water
    units = [f.unit() for _ in range(3)]
    f.group(None, units)
    f.write(
        [
            f.row(u, v, year, 10 * i + year % 7 + (v == produced) * 50, status=DRAFT if year == 2024 else PUBLISHED)
            for i, u in enumerate(units)
            for v in (produced, billed)
            for year in (2023, 2024)
        ]
    )
    engine.recompute_all()
    written = stored_slices()
    assert any(public for _i, _p, public in written) and any(not public for _i, _p, public in written)
    RankSlice.objects.all().delete()
    assert engine.rebuild_slices() == 1
    assert stored_slices() == written == slices_from_rows()


# -- a full recompute stored by threads of its own -------------------------------------------
# Outside a test's transaction (the storing threads have connections of their own, which
# must see the data), on PostgreSQL or on an SQLite database in a file (SQLITE_TEST_NAME):
# the engine stores on no thread of its own in the suite's in-memory SQLite (`engine.writers`).
def threaded(test):
    test = pytest.mark.django_db(transaction=True)(test)
    database = django_settings.DATABASES["default"]
    return pytest.mark.skipif(
        "postgresql" not in database["ENGINE"] and not database.get("TEST", {}).get("NAME"),
        reason="a recompute is stored on threads of its own on PostgreSQL and SQLite in a file only",
    )(test)


def threaded_world(water):
    produced, billed, nrw = water
    f.indicator("loss", "produced - billed", polarity="lower_is_better")
    f.indicator("billed_share", "100 * billed / produced")
    units = [f.unit() for _ in range(6)]
    f.group(None, units[:4]), f.group(None, units[2:])
    f.random_figures(units, (produced, billed), range(2018, 2025), seed=7)


@pytest.mark.parametrize("batch,prepare_ahead", [(1, False), (2, False), (1, True)])
@threaded
def test_a_recompute_stored_by_its_own_threads_stores_what_one_thread_stores(water, monkeypatch, batch, prepare_ahead):
    threaded_world(water)
    drop_derived()  # the saves' own refreshes stored them: a rebuild from empty tables
    monkeypatch.setattr(engine, "BATCH", batch)  # batches queue up behind the storing threads
    # A thread of its own preparing each batch ahead of the storing threads (SQLite's way).
    monkeypatch.setattr(engine, "PREPARE_AHEAD", {connection.vendor: prepare_ahead})
    assert engine.writers() == engine.WRITERS[connection.vendor] >= 1
    seen = []
    result = engine.recompute_all(progress=lambda done, total: seen.append((done, total)))
    by_threads = snapshot()
    assert by_threads["values"] and by_threads["statistics"]
    assert result.indicators == 3 and seen[-1] == (3, 3) and sorted(seen) == seen
    assert result.written[engine.IV_TABLE] == len(by_threads["values"])
    drop_derived()
    monkeypatch.setattr(engine, "WRITERS", {})
    assert engine.writers() == 0
    alone = engine.recompute_all(force=True)
    assert same(snapshot(), by_threads)
    assert alone.written == result.written


@threaded
def test_a_storing_threads_error_stops_the_recompute_and_reaches_its_caller(water, monkeypatch):
    threaded_world(water)
    monkeypatch.setattr(engine, "BATCH", 1)
    store = engine._store_computed

    def failing(ctx, jobs, *args, **kwargs):
        if any(spec.code == "loss" for spec, _digest in jobs):
            raise ValueError("the disk is full")
        return store(ctx, jobs, *args, **kwargs)

    monkeypatch.setattr(engine, "_store_computed", failing)
    drop_derived()
    with pytest.raises(engine.StoreFailed, match="the disk is full"):
        engine.recompute_all()
    # The same with a thread preparing ahead of the storing one, and failing itself.
    monkeypatch.setattr(engine, "PREPARE_AHEAD", {connection.vendor: True})
    with pytest.raises(engine.StoreFailed, match="the disk is full"):
        engine.recompute_all()
    prepare = engine._prepare

    def failing_to_prepare(ctx, specs, computed, **kwargs):
        if any(spec.code == "loss" for spec in specs):
            raise ValueError("out of memory")
        return prepare(ctx, specs, computed, **kwargs)

    monkeypatch.setattr(engine, "_prepare", failing_to_prepare)
    with pytest.raises(engine.StoreFailed, match="out of memory"):
        engine.recompute_all()
    assert not derived.exists(indicator="loss", breakdown=derived.ANY)
    # Nothing was left half done: the next pass, without the faults, stores everything.
    monkeypatch.setattr(engine, "_store_computed", store)
    monkeypatch.setattr(engine, "_prepare", prepare)
    engine.recompute_all()
    assert derived.exists(indicator="loss")


def test_the_grid_takes_a_variables_rows_as_partitioning_gives_them():
    """`_by_variable` slices a frame whose variables come one after another (a full
    recompute's read) and partitions any other (a save's two reads): the same parts, rows in
    the same order, either way."""
    contiguous = pl.DataFrame(
        {"variable_id": [3, 3, 1, 1, 1, 7], "variable": ["c", "c", "a", "a", "a", "g"], "cell": [5, 2, 9, 0, 4, 1]}
    )
    interleaved = pl.concat([contiguous, contiguous.slice(0, 2)])
    for frame in (contiguous, interleaved):
        got = engine._by_variable(frame)
        want = frame.partition_by("variable", as_dict=True)
        assert got.keys() == want.keys()
        for key, part in want.items():
            assert got[key].equals(part)


# -- a rebuild's observations read in one pass (SQLite) ---------------------------------------


def test_a_rebuild_reads_its_variables_in_one_pass_as_a_variable_at_a_time_would():
    """`VariableCache.preload` (SQLite: one pass over the table, the common rows packed into
    one integer, the others as stored) gives each variable exactly the rows a read of that
    variable gives: totals and categories, missing codes, drafts, a null value, and a row
    whose unit id lies beyond every unit (no database constraint holds it), which the
    packing cannot hold and the second pass must."""
    ages = f.breakdown("age", ["young", "old"])
    pop, waste, idle = f.variable("pop", breakdown=ages), f.variable("waste"), f.variable("idle")
    units = f.units(4)
    f.random_figures(units, [pop, waste], range(2019, 2024), seed=3)
    f.observe(units[0], pop, 2020, 7.25, breakdown="old")
    f.observe(units[1], waste, 2021, None, missing="confidential")
    f.observe(units[2], waste, 2022, 1e300, status=Status.DRAFT)
    stray = f.observe(units[3], waste, 2019, 5.0)
    Observation = type(stray)
    Observation.objects.filter(pk=stray.pk).update(unit_id=units[-1].pk + 10**6)
    ctx = engine.Context()
    counts = engine.Fingerprints().rows
    cache = engine.VariableCache(ctx)
    read_ahead = cache.preload([pop.pk, waste.pk, idle.pk], counts)
    assert read_ahead == (connection.vendor == "sqlite")  # PostgreSQL's server reads: as before
    one_at_a_time = engine.VariableCache(ctx)
    order = ["unit_id", "period_id", "breakdown"]
    for variable in (pop, waste, idle):
        got, want = cache.get([variable.pk]).sort(order), one_at_a_time.get([variable.pk]).sort(order)
        assert got.equals(want), variable.code
        assert got.schema == want.schema
    assert cache.get([waste.pk]).filter(pl.col("unit_id") == units[-1].pk + 10**6).height == 1
    assert cache.get([pop.pk]).filter(pl.col("breakdown") == "old").height >= 1
    assert cache.get([idle.pk]).is_empty()


def test_a_one_pass_read_is_left_to_the_reads_a_variable_at_a_time_when_it_would_not_pay():
    """Too few of the table's rows, or more than the cache holds: no pass over the table."""
    waste, other = f.variable("waste"), f.variable("other")
    units = f.units(3)
    f.random_figures(units, [waste, other], range(2019, 2024), seed=4)
    ctx, counts = engine.Context(), engine.Fingerprints().rows
    assert not engine.VariableCache(ctx, max_rows=5).preload([waste.pk], counts)
    assert not engine.VariableCache(ctx).preload([waste.pk], {waste.pk: 1, other.pk: 10**6})


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the one-pass read is SQLite's")
def test_the_one_pass_read_takes_every_row_unpacked_when_the_ids_cannot_be_packed():
    """A unit id so large that no integer below 2**63 holds unit, variable and period: the
    first pass gets nothing and the second every row, as stored."""
    waste = f.variable("waste")
    units = [f.unit(), f.unit(id=2**62)]
    f.random_figures(units, [waste], range(2019, 2022), seed=5)
    f.observe(units[0], waste, 2022, None, missing="confidential")
    got = engine._scan_observations([waste.pk])
    want = engine.frames.read_sql(
        engine.OBS_SELECT + "WHERE variable_id = %s", [Status.PUBLISHED.value, waste.pk], schema=engine.OBS_SCHEMA
    )
    order = ["unit_id", "period_id", "breakdown"]
    assert got.height == 7 and got.sort(order).equals(want.sort(order))
