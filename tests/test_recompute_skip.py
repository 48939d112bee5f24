"""A full recompute skips the indicators whose inputs have not changed since the last one
(issue 18), and what it stores is what a forced recompute of everything stores."""

import pytest
from django.db import connection
from django.test import TestCase

from municipium.benchmarks import engine
from municipium.benchmarks.models import InputFingerprint, ValueSeries
from municipium.lib import bulk
from municipium.observations.models import Status
from tests import derived
from tests import factories as f
from tests.test_engine import drop_derived, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    produced, billed, pop = f.variable("produced"), f.variable("billed"), f.variable("pop")
    nrw = f.indicator("nrw", "100 * (produced - billed) / produced", polarity="lower_is_better")
    per_head = f.indicator("per_head", "produced / pop", polarity="higher_is_better")
    units = [f.unit(f"U{i}") for i in range(4)]
    group = f.group("g", units[:3])
    f.write(
        [
            f.row(u, v, year, 100 + 10 * i + year % 7)
            for i, u in enumerate(units)
            for v in (produced, pop)
            for year in (2022, 2023, 2024)
        ]
        + [f.row(u, billed, year, 50 + i) for i, u in enumerate(units) for year in (2022, 2023, 2024)]
    )
    return {
        "produced": produced,
        "billed": billed,
        "pop": pop,
        "nrw": nrw,
        "per_head": per_head,
        "units": units,
        "group": group,
    }


def _refreshed(result) -> int:
    return result.indicators - result.skipped


def _forced_equals_stored() -> None:
    """What is stored is exactly what recomputing everything from scratch stores."""
    kept = snapshot()
    drop_derived()
    engine.recompute_all(force=True)
    assert snapshot() == kept


def test_a_second_full_recompute_skips_everything_and_writes_nothing(world):
    first = engine.recompute_all()
    assert (first.indicators, first.skipped) == (2, 0)
    assert InputFingerprint.objects.count() == 2
    before = snapshot()
    again = engine.recompute_all()
    assert (again.indicators, again.skipped) == (2, 2) and "2 unchanged indicators skipped" in again.summary()
    assert again.written == {engine.IV_TABLE: 0, engine.GS_TABLE: 0}
    assert snapshot() == before
    forced = engine.recompute_all(force=True)
    assert forced.skipped == 0 and forced.written == {engine.IV_TABLE: 0, engine.GS_TABLE: 0}


def test_a_changed_observation_recomputes_the_indicators_that_read_it_only(world):
    engine.recompute_all()
    with TestCase.captureOnCommitCallbacks(execute=False):  # no background refresh: the full one must see it
        f.write([f.row(world["units"][1], world["billed"], 2024, 75)])
    result = engine.recompute_all()
    assert _refreshed(result) == 1 and result.written[engine.IV_TABLE] > 0  # nrw; per_head does not read billed
    _forced_equals_stored()


def test_a_status_change_recomputes_the_published_basis(world):
    engine.recompute_all()
    with TestCase.captureOnCommitCallbacks(execute=False):
        f.write([f.row(world["units"][0], world["pop"], 2024, 116, status="draft")])
    result = engine.recompute_all()
    assert _refreshed(result) == 1
    _forced_equals_stored()


@pytest.mark.parametrize(
    "change",
    ["membership", "unit_validity", "formula", "period", "deleted_observation", "deleted_rows"],
)
def test_what_every_indicator_reads_recomputes_them_all_or_the_affected(world, change):
    engine.recompute_all()
    expected = 2
    if change == "membership":
        f.membership(world["group"], world["units"][3], valid_from="2024-01-01")
    elif change == "unit_validity":
        unit = world["units"][2]
        unit.valid_to = f.date("2023-06-30")
        unit.save()
    elif change == "formula":
        world["per_head"].formula = "1000 * produced / pop"
        world["per_head"].save()
    elif change == "period":
        f.period("2025")
    elif change == "deleted_observation":
        world["units"][0].observations.filter(variable=world["billed"], period__code="2023").delete()
        expected = 1
    elif change == "deleted_rows":
        derived.delete(indicator=world["nrw"], unit=world["units"][0])
        expected = 1
    result = engine.recompute_all()
    assert _refreshed(result) == expected
    _forced_equals_stored()


# -- a rebuild into empty tables builds its indexes at the end (bulk.indexes_after) ---------


def _indexes() -> set[str]:
    return bulk._existing_indexes(ValueSeries._meta.db_table)


def test_the_fingerprints_count_the_derived_figures_stored(world):
    """A full recompute stores every period and unit of an indicator, so it counts what
    each has stored from the rows it gave (not read back): the same counts as reading them,
    a draft's published rows and hidden twins among them, after a rebuild and after a
    recompute that changed some."""
    ids = [world["nrw"].pk, world["per_head"].pk]

    def fingerprints():
        return {fp.indicator_id: (fp.values_stored, fp.statistics_stored) for fp in InputFingerprint.objects.all()}

    f.write([f.row(world["units"][1], world["billed"], 2024, 77, status=Status.DRAFT)])
    engine.recompute_all()
    assert fingerprints() == engine._derived_counts(ids)
    assert all(values and statistics for values, statistics in fingerprints().values())
    f.write([f.row(world["units"][3], world["pop"], 2025, 12)])  # a new period: more figures
    engine.recompute_all()
    assert fingerprints() == engine._derived_counts(ids)


def test_a_rebuild_into_an_empty_table_ends_with_every_index_and_the_same_figures(world):
    expected = set(bulk._secondary_indexes(ValueSeries))
    assert expected and expected <= _indexes()
    engine.recompute_all()  # the table was empty: indexes dropped, rows stored, indexes built
    assert expected <= _indexes()
    _forced_equals_stored()  # also a rebuild into empty tables
    assert expected <= _indexes()


def test_the_indexes_come_back_when_a_rebuild_fails(world, monkeypatch):
    expected = set(bulk._secondary_indexes(ValueSeries))

    def broken(*args, **kwargs):
        assert not expected & _indexes(), "the rebuild runs without its secondary indexes"
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(engine, "_recompute_all", broken)
    with pytest.raises(RuntimeError, match="disk is full"):
        engine.recompute_all()
    assert expected <= _indexes()


def test_a_full_recompute_restores_indexes_a_killed_rebuild_left_dropped(world):
    engine.recompute_all()
    name = "value_series_unit"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    assert name not in _indexes()
    assert bulk.restore_indexes(ValueSeries) == [name]
    assert name in _indexes() and bulk.restore_indexes(ValueSeries) == []
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    engine.recompute_all()  # the table holds rows: no rebuild, but the index is restored first
    assert name in _indexes()
