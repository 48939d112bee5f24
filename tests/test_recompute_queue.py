"""Queued recomputes and a full one (issue 18): a full recompute absorbs the recomputes
waiting in the queue when it starts (they follow changes it reads anyway), leaves running
ones and other tasks alone, and puts them back if it fails."""

import pytest
from django_tasks_db.models import DBTaskResult

from municipium.benchmarks import engine, tasks
from municipium.benchmarks.models import ValueSeries
from municipium.worker.worker import LeasedWorker
from tests import derived
from tests import factories as f
from tests.worker_tasks import mark

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _queued_in_the_database(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}


@pytest.fixture
def water():
    produced = f.variable("water_produced", min_value=0)
    billed = f.variable("water_billed", min_value=0)
    nrw = f.indicator("water_nrw", "100 * (water_produced - water_billed) / water_produced")
    unit = f.unit("PL-1002011")
    f.group("pl-exchange", [unit])
    return produced, billed, nrw, unit


def _worker() -> LeasedWorker:
    return LeasedWorker(
        queue_names=["default"],
        excluded_queue_names=[],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="w",
        lease_seconds=60,
        max_attempts=3,
    )


def _run_queue() -> None:
    """What a worker's loop does (claim, run, until the queue is empty), without the loop's
    connection housekeeping, which would close the test's transaction on PostgreSQL."""
    worker = _worker()
    while (task := worker.claim()) is not None:
        worker.run_task(task)


def _value(nrw, unit):
    return derived.one(indicator=nrw, unit=unit, breakdown="", basis="all").value


def test_an_explicit_full_recompute_absorbs_the_queued_ones_and_covers_their_changes(water, tmp_path):
    produced, billed, nrw, unit = water
    f.observe(unit, produced, 2024, 200), f.observe(unit, billed, 2024, 150)
    engine.recompute_all()
    assert _value(nrw, unit) == 25.0
    # A load changes a figure and queues its recomputes; more full ones queued by catalogue edits.
    f.observe(unit, billed, 2024, 100)
    queued = [
        tasks.recompute_changed.enqueue([billed.pk], [f.period(2024).pk]),
        tasks.recompute_everything.enqueue(),
        tasks.recompute_everything.enqueue(),
    ]
    other = mark.enqueue(str(tmp_path), "other")

    result = engine.recompute_all()

    assert result.absorbed == 3 and "3 queued recomputes absorbed" in result.summary()
    assert _value(nrw, unit) == 50.0  # the change the queued recompute followed is in
    for task in queued:
        stored = DBTaskResult.objects.get(pk=task.id)
        assert stored.status == "SUCCESSFUL" and stored.return_value == {"absorbed": tasks.ABSORBED}
    assert DBTaskResult.objects.get(pk=other.id).status == "READY"  # not a recompute: untouched
    _run_queue()
    assert [p.name for p in tmp_path.iterdir()] == ["other.1"]  # only the other task ran
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_the_first_queued_full_recompute_a_worker_runs_absorbs_the_others(water):
    produced, billed, nrw, unit = water
    f.observe(unit, produced, 2024, 200), f.observe(unit, billed, 2024, 150)
    queued = [tasks.recompute_everything.enqueue() for _ in range(4)]

    _run_queue()

    results = [DBTaskResult.objects.get(pk=t.id) for t in queued]
    assert all(r.status == "SUCCESSFUL" for r in results)
    ran = [r for r in results if "indicators" in (r.return_value or {})]
    assert len(ran) == 1 and ran[0].return_value["absorbed"] == 3
    assert _value(nrw, unit) == 25.0


def test_a_running_recompute_is_left_to_finish(water):
    running = tasks.recompute_changed.enqueue([1], [1])
    DBTaskResult.objects.filter(pk=running.id).update(status="RUNNING")
    assert engine.recompute_all().absorbed == 0
    assert DBTaskResult.objects.get(pk=running.id).status == "RUNNING"


def test_a_full_recompute_that_fails_queues_the_absorbed_ones_again(water, monkeypatch):
    queued = tasks.recompute_everything.enqueue()

    def broken(progress, force=False, only=None, **kwargs):
        assert DBTaskResult.objects.get(pk=queued.id).status == "SUCCESSFUL"  # absorbed while it runs
        raise RuntimeError("disk full")

    monkeypatch.setattr(engine, "_recompute_all", broken)
    with pytest.raises(RuntimeError):
        engine.recompute_all()
    stored = DBTaskResult.objects.get(pk=queued.id)
    assert stored.status == "READY" and stored.return_value is None and stored.finished_at is None


def _stored():
    return sorted(
        (r.indicator_id, r.unit_id, r.period_id, r.basis, r.value) for r in derived.rows(breakdown=derived.ANY)
    )


def test_a_full_recompute_in_parts_is_shared_by_workers_and_stores_what_one_pass_stores(water):
    produced, billed, nrw, unit = water
    more = [f.indicator(f"water_share{i}", f"{i} * water_billed / water_produced") for i in range(1, 6)]
    other = f.unit("PL-1002022")
    for year, p, b in ((2022, 100, 80), (2023, 110, 70), (2024, 120, 90)):
        f.observe(unit, produced, year, p), f.observe(unit, billed, year, b)
        f.observe(other, produced, year, p * 2), f.observe(other, billed, year, b)
    engine.recompute_all(force=True)
    one_pass = _stored()
    derived.delete()
    waiting = tasks.recompute_changed.enqueue([produced.pk], [])

    report = tasks.recompute_in_parts(3, force=True, wait=False)
    parts = DBTaskResult.objects.filter(task_path=tasks.recompute_part.module_path)
    # Three parts, the indicators cut into runs that cover each exactly once; the waiting
    # recompute was absorbed once, by the coordinator.
    assert report["parts"] == 3 == parts.count()
    shares = [set(part.args_kwargs["args"][0]) for part in parts]
    assert set().union(*shares) == {nrw.pk, *(i.pk for i in more)}
    assert sum(len(s) for s in shares) == 1 + len(more)
    assert DBTaskResult.objects.get(pk=waiting.id).return_value == {"absorbed": tasks.ABSORBED}

    _run_queue()  # a worker takes the parts
    assert set(parts.values_list("status", flat=True)) == {"SUCCESSFUL"}
    assert _stored() == one_pass


def test_the_command_line_waits_for_the_parts(water, settings, capsys):
    from municipium import cli

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": []}}
    produced, billed, nrw, unit = water
    f.observe(unit, produced, 2024, 100), f.observe(unit, billed, 2024, 75)
    assert cli.main(["recompute", "--parts", "2"]) == 0
    assert _value(nrw, unit) == 25.0
    assert "in 1 parts" in capsys.readouterr().out  # one indicator: one part


def test_parts_into_an_empty_table_write_without_the_secondary_indexes_built_once_at_the_end(
    water, settings, monkeypatch
):
    from municipium.lib import bulk

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": []}}
    produced, billed, nrw, unit = water
    for i in range(1, 4):
        f.indicator(f"water_share{i}", f"{i} * water_billed / water_produced")
    f.observe(unit, produced, 2024, 100), f.observe(unit, billed, 2024, 75)
    engine.recompute_all(force=True)
    one_pass = _stored()
    derived.delete()
    expected = set(bulk._secondary_indexes(ValueSeries))
    seen = []
    real = engine.recompute_all

    def part(*args, **kwargs):
        seen.append(expected & bulk._existing_indexes(ValueSeries._meta.db_table))
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "recompute_all", part)
    tasks.recompute_in_parts(2, force=True, wait=True)
    assert len(seen) == 2 and seen == [set(), set()]  # no part restored them midway
    assert expected <= bulk._existing_indexes(ValueSeries._meta.db_table)
    assert _stored() == one_pass
