"""Background tasks of the engine. A save enqueues `recompute_changed` once it commits
(municipium.observations.services), so derived figures follow within seconds."""

from django.tasks import task

from . import engine


def _report(result: engine.RefreshResult) -> dict:
    # Task results are stored as JSON.
    return {"indicators": result.indicators, "written": result.written, "deleted": result.deleted,
            "errors": result.errors, "seconds": round(result.seconds, 3)}


@task
def recompute_changed(variable_ids: list[int], period_ids: list[int]) -> dict:
    """Refresh the indicator slices that read these variables in these periods."""
    return _report(engine.recompute_changed(variable_ids, period_ids))


@task
def recompute_everything() -> dict:
    """Recompute every derived figure from the observations (after a catalogue or
    membership change, or to check that the stored figures are what the data say)."""
    return _report(engine.recompute_all())
