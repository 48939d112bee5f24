"""A figure's versions and a write's figures, the first versions the observation rows stand
for included.

A figure's first version is stored as a `Revision` only once a later write changes the
figure (`services.write_staged` copies it first); until then the observation row is that
version (models.Revision says why). Every reader of versions goes through here, so that
none of them forgets the ones not stored: the history page, the audit trail's figures of a
write, the status board's submissions (`workflow.last_submissions`).
"""

from .models import ImportBatch, Observation, Revision, Status


def first_version(observation: Observation, batch: ImportBatch | None = None) -> Revision:
    """The revision an unchanged figure (version 1) stands for; not saved (no pk). Its
    channel is its write's (`ImportBatch.via`): `batch`, when the caller has it, spares
    reading it."""
    if batch is None and observation.batch_id is not None:
        batch = observation.batch
    return Revision(
        observation=observation,
        version=1,
        value=observation.value,
        missing=observation.missing,
        status=observation.status,
        source=observation.source,
        comment=observation.comment,
        changed_at=observation.updated_at,
        changed_by_id=observation.updated_by_id,
        via=batch.via if batch is not None else "",
        batch_id=observation.batch_id,
    )


def versions(observation: Observation) -> list[Revision]:
    """Every version of the figure, the latest first."""
    stored = list(observation.revisions.select_related("changed_by", "batch").order_by("-version"))
    if observation.version == 1 and not stored:
        first = first_version(observation)
        first.changed_by = observation.updated_by
        stored.append(first)
    return stored


def written_by(batch: ImportBatch, limit: int) -> list[Revision]:
    """At most `limit` of the versions `batch` wrote (any `limit` of them: the audit trail
    shows a few and counts the rest), each with its observation's unit, variable and period.

    The stored ones come from the revisions' batch index; the figures it created that nobody
    changed since, from the observation table's `updated_at` index (the write's time stamp,
    `ImportBatch.written_at`), not from a scan of the table for the batch."""
    # The ids first, then their rows: with the joins in the same query PostgreSQL merged the
    # revisions with the whole observation table (1.3 s a batch), and ordered by the key it
    # walked the primary key past every other batch's rows. The batch index gives its first
    # ones as they lie; the caller sorts the few it shows.
    ids = list(Revision.objects.filter(batch_id=batch.pk).order_by().values_list("pk", flat=True)[:limit])
    found = list(
        Revision.objects.filter(pk__in=ids).select_related(
            "observation__unit", "observation__variable", "observation__period"
        )
    )
    if len(found) < limit and batch.written_at is not None and batch.created:
        unchanged = Observation.objects.filter(updated_at=batch.written_at, batch_id=batch.pk, version=1)
        found += [
            first_version(observation, batch)
            for observation in unchanged.select_related("unit", "variable", "period")[: limit - len(found)]
        ]
    return found


def submissions(units, period) -> list[tuple]:
    """The distinct (unit id, time, user id) of the submitted versions of the units' figures
    of `period`: the stored ones through the revisions' partial index of submitted ones
    (`revision_submitted`), and the figures written as submitted and unchanged since through
    the observations' (`observation_submitted_first`). A draft or published import adds
    nothing to either index."""
    stored = (
        Revision.objects.filter(status=Status.SUBMITTED, observation__unit__in=units, observation__period=period)
        .order_by()
        .values_list("observation__unit_id", "changed_at", "changed_by_id")
        .distinct()
    )
    implicit = (
        Observation.objects.filter(status=Status.SUBMITTED, version=1, unit__in=units, period=period)
        .order_by()
        .values_list("unit_id", "updated_at", "updated_by_id")
        .distinct()
    )
    return [*stored, *implicit]
