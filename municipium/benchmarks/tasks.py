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
def recompute_changed(variable_ids: list[int], period_ids: list[int]) -> dict:
    """Refresh the indicator slices that read these variables in these periods."""
    return _report(engine.recompute_changed(variable_ids, period_ids))


@task
def recompute_everything() -> dict:
    """Recompute every derived figure from the observations (after a catalogue or
    membership change, or to check that the stored figures are what the data say)."""
    return _report(engine.recompute_all())


ABSORBED = "absorbed by a full recompute"


def _recompute_paths() -> list[str]:
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
