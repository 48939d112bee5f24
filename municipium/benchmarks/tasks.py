"""Background tasks of the engine. A save enqueues `recompute_changed` once it commits
(municipium.observations.services), so derived figures follow within seconds.

A full recompute absorbs the recomputes still waiting in the queue when it starts
(`absorb_queued`): their changes were committed before they were queued, so the full pass,
which reads everything after that, covers them. An explicit `municipium recompute` after a
country's loads thus leaves no backlog of full recomputes that would write nothing (issue 18).
"""

from django.tasks import task

from . import engine


def _report(result: engine.RefreshResult) -> dict:
    # Task results are stored as JSON.
    return {
        "indicators": result.indicators,
        "written": result.written,
        "deleted": result.deleted,
        "errors": result.errors,
        "seconds": round(result.seconds, 3),
        "absorbed": result.absorbed,
    }


@task
def recompute_changed(variable_ids: list[int], period_ids: list[int], unit_ids: list[int] | None = None) -> dict:
    """Refresh the indicator slices that read these variables in these periods; of them only
    what these units' values move, when the save says which units it changed."""
    return _report(engine.recompute_changed(variable_ids, period_ids, unit_ids))


@task
def recompute_everything() -> dict:
    """Recompute every derived figure from the observations (after a catalogue or
    membership change, or to check that the stored figures are what the data say)."""
    return _report(engine.recompute_all())


@task
def recompute_part(indicator_ids: list[int], force: bool = False) -> dict:
    """One part of a full recompute that several workers share (`recompute_in_parts`)."""
    return _report(engine.recompute_all(force=force, only=indicator_ids, absorb=False))


class PartFailed(RuntimeError):
    pass


def recompute_in_parts(parts: int, *, force: bool = False, wait: bool = True, poll: float = 0.5) -> dict:
    """A full recompute split into `parts` tasks that the running workers share (on one
    machine or several, through the database queue): the indicators in the full order, cut
    into contiguous runs so that each part keeps its neighbours' shared reads. The queue
    is absorbed once, here. With `wait`, returns when every part has finished, with the
    parts' reports summed; raises PartFailed if one failed (its indicators keep what they
    had; run it again). A part stores its own indicators only (a batch a transaction), so
    parts never write the same rows.

    On PostgreSQL the parts run side by side; SQLite has one writer at a time, so there they
    share only the computing."""
    from contextlib import nullcontext

    from municipium.lib import bulk

    from .models import ValueSeries

    bulk.restore_indexes(ValueSeries)  # were a rebuild killed before it rebuilt them
    # Into an empty table, the parts write without the secondary indexes, built once when
    # all have finished (as a one-process rebuild does, engine.recompute_all). Only when
    # waiting: the indexes must come back when the parts are done.
    rebuild = wait and engine.begin_rebuild()
    with bulk.indexes_after(ValueSeries) if rebuild else nullcontext():
        return _run_parts(parts, force=force, wait=wait, poll=poll)


def _run_parts(parts: int, *, force: bool, wait: bool, poll: float) -> dict:
    import time

    from django.tasks import TaskResultStatus

    absorbed = absorb_queued()
    ids = engine.full_order()
    size = max(1, -(-len(ids) // max(1, parts)))
    results = [recompute_part.enqueue(ids[i : i + size], force) for i in range(0, len(ids), size)]
    report = {
        "parts": len(results),
        "absorbed": len(absorbed),
        "indicators": 0,
        "written": {},
        "deleted": {},
        "errors": {},
    }
    if not wait:
        return report
    while not all(result.is_finished for result in results):
        time.sleep(poll)
        for result in results:
            if not result.is_finished:
                result.refresh()
    for result in results:
        if result.status != TaskResultStatus.SUCCESSFUL:
            raise PartFailed(f"part {results.index(result) + 1} of {len(results)} failed: {result.errors}")
        part = result.return_value
        report["indicators"] += part["indicators"]
        report["errors"].update(part["errors"])
        for key in ("written", "deleted"):
            for table, count in part[key].items():
                report[key][table] = report[key].get(table, 0) + count
    if any(report["written"].values()) or any(report["deleted"].values()):
        # What a one-process full recompute does at its end; each part leaves it to here.
        engine.analyze()
    return report


ABSORBED = "absorbed by a full recompute"


def _recompute_paths() -> list[str]:
    # Not recompute_part: a part is a share of a full recompute already under way.
    return [recompute_everything.module_path, recompute_changed.module_path]


def absorb_queued() -> list:
    """Mark the recomputes waiting in the queue (not yet taken by a worker) as done by the
    full recompute that is starting; return their ids (for `unabsorb` if it fails).

    Safe without clocks: a task is queued only after the change it follows has committed
    (`transaction.on_commit`), so every task this statement sees follows a change that the
    full pass, reading after it, sees too. Tasks already running are left to finish, and
    tasks queued from now on run after it."""
    from django.db import transaction
    from django.utils import timezone
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    queued = DBTaskResult.objects.filter(status=TaskResultStatus.READY, task_path__in=_recompute_paths())
    with transaction.atomic():
        ids = list(queued.select_for_update(skip_locked=True).values_list("id", flat=True))
        if ids:
            DBTaskResult.objects.filter(pk__in=ids, status=TaskResultStatus.READY).update(
                status=TaskResultStatus.SUCCESSFUL,
                finished_at=timezone.now(),
                return_value={"absorbed": ABSORBED},
            )
    return ids


def unabsorb(ids: list) -> None:
    """Queue again the tasks `absorb_queued` took, when the full recompute did not finish."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    if ids:
        DBTaskResult.objects.filter(pk__in=ids, return_value__absorbed=ABSORBED).update(
            status=TaskResultStatus.READY, finished_at=None, return_value=None
        )


def recompute_after_commit() -> None:
    """Schedule a full recompute for when the current transaction commits.

    For changes that can move any derived figure — an indicator's formula, a unit's
    validity, a group's memberships. They are rare, and the refresh writes only rows that
    differ, so a full pass in the background is simpler and safer than working out the
    slices by hand."""
    from django.db import transaction

    transaction.on_commit(lambda: recompute_everything.enqueue())
