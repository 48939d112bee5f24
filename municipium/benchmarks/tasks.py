"""Background tasks of the engine. A save enqueues `recompute_changed` once it commits
(municipium.observations.services), so derived figures follow within seconds."""

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


def recompute_after_commit() -> None:
    """Schedule a full recompute for when the current transaction commits.

    For changes that can move any derived figure — an indicator's formula, a unit's
    validity, a group's memberships. They are rare, and the refresh writes only rows that
    differ, so a full pass in the background is simpler and safer than working out the
    slices by hand."""
    from django.db import transaction

    transaction.on_commit(lambda: recompute_everything.enqueue())
