"""Writing observations: the one path every form, import and API call goes through.

In one transaction it writes the new and changed observations, snapshots each of them as a
Revision, records one audit event for the operation, and, once committed, asks the engine to
recompute the indicator slices that depend on what changed.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from municipium.audit.models import record
from municipium.lib import bulk

from .models import ImportBatch, Observation, Revision, Status


@dataclass(frozen=True, slots=True)
class Row:
    """One observation as a writer wants it to be. Keys are database ids."""

    unit_id: int
    variable_id: int
    period_id: int
    breakdown: str = ""
    value: float | None = None
    missing: str = ""
    status: str = Status.DRAFT
    source: str = ""
    comment: str = ""

    @property
    def key(self) -> tuple[int, int, int, str]:
        return (self.unit_id, self.variable_id, self.period_id, self.breakdown)

    def content(self) -> tuple:
        return (self.value, self.missing, self.status, self.source, self.comment)


@dataclass
class WriteResult:
    batch: ImportBatch
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    variable_ids: set[int] = field(default_factory=set)
    period_ids: set[int] = field(default_factory=set)


OBS = Observation._meta.db_table
REV = Revision._meta.db_table


def _existing(keys: set[tuple]) -> dict[tuple, tuple]:
    """Current content of the observations among `keys`, read slice by slice
    (variable × period), which the observation_variable_period index serves."""
    slices: dict[tuple[int, int], set[int]] = {}
    for unit_id, variable_id, period_id, _b in keys:
        slices.setdefault((variable_id, period_id), set()).add(unit_id)
    found: dict[tuple, tuple] = {}
    sql = (
        f"SELECT unit_id, variable_id, period_id, breakdown, value, missing, status, source, comment "
        f"FROM {bulk.quote(OBS)} WHERE variable_id = %s AND period_id = %s"
    )
    with connection.cursor() as cursor:
        for (variable_id, period_id), _units in slices.items():
            cursor.execute(sql, [variable_id, period_id])
            for u, v, p, b, value, missing, status, source, comment in cursor.fetchall():
                key = (u, v, p, b)
                if key in keys:
                    found[key] = (value, missing, status, source, comment)
    return found


def write_observations(rows: Iterable[Row], *, batch: ImportBatch, actor=None, via: str | None = None) -> WriteResult:
    """Write rows as one all-or-nothing operation recorded under `batch`.

    Rows identical to what is stored are counted as unchanged and leave no revision, so
    re-importing the same file is harmless. The caller has validated the rows already.
    """
    via = via or batch.via
    rows = list({row.key: row for row in rows}.values())  # the last word on a key wins
    result = WriteResult(batch=batch, rows=len(rows))
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)  # same text on every path under SQLite
    user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        if batch.pk is None:
            batch.save()
        existing = _existing({row.key for row in rows})
        to_write = []
        for row in rows:
            before = existing.get(row.key)
            if before is None:
                result.created += 1
            elif before == row.content():
                result.unchanged += 1
                continue
            else:
                result.updated += 1
            result.variable_ids.add(row.variable_id)
            result.period_ids.add(row.period_id)
            to_write.append(
                (row.unit_id, row.variable_id, row.period_id, row.breakdown, row.value, row.missing, row.status,
                 row.source, row.comment, 1, stamp, user_id, batch.pk)
            )
        if to_write:
            bulk.upsert(
                OBS,
                ["unit_id", "variable_id", "period_id", "breakdown", "value", "missing", "status", "source",
                 "comment", "version", "updated_at", "updated_by_id", "batch_id"],
                to_write,
                conflict=["unit_id", "variable_id", "period_id", "breakdown"],
                update=["value", "missing", "status", "source", "comment", "updated_at", "updated_by_id", "batch_id"],
                increment=["version"],
            )
            # Every observation this batch just wrote carries its id, so one statement
            # snapshots them all as revisions, whatever the number of rows.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {bulk.quote(REV)} (observation_id, version, value, missing, status, source, comment, "
                    f"changed_at, changed_by_id, via, batch_id) "
                    f"SELECT id, version, value, missing, status, source, comment, %s, %s, %s, batch_id "
                    f"FROM {bulk.quote(OBS)} WHERE batch_id = %s AND updated_at = %s",
                    [stamp, user_id, via, batch.pk, stamp],
                )
        batch.rows, batch.created, batch.updated, batch.unchanged = (
            result.rows, result.created, result.updated, result.unchanged)
        batch.save(update_fields=["rows", "created", "updated", "unchanged"])
        record(
            "import" if via == "import" else "write",
            batch,
            actor=actor,
            via=via,
            batch=batch,
            after={"rows": result.rows, "created": result.created, "updated": result.updated,
                   "unchanged": result.unchanged},
        )
        if to_write:
            variable_ids, period_ids = sorted(result.variable_ids), sorted(result.period_ids)
            transaction.on_commit(lambda: _enqueue_recompute(variable_ids, period_ids))
    return result


def _enqueue_recompute(variable_ids: list[int], period_ids: list[int]) -> None:
    from municipium.benchmarks.tasks import recompute_changed

    recompute_changed.enqueue(variable_ids=variable_ids, period_ids=period_ids)
