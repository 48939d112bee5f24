"""Writing observations: the one path every form, import and API call goes through.

In one transaction it writes the new and changed observations, keeps each changed one's
versions as Revisions (a new figure's first version is its row until it changes,
models.Revision), records one audit event for the operation, and, once committed, asks the
engine to recompute the indicator slices that depend on what changed. The channel of every
write (form, import, API, workflow, restore) is its batch's, `ImportBatch.via`.

The work is set-based so that a country's yearly file (a million rows) goes through at the
speed of the database rather than of a Python loop: rows are staged in a temporary table,
classified (new, changed, unchanged) and upserted with a handful of SQL statements.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from municipium.accounts import access
from municipium.audit.models import record
from municipium.lib import bulk

from .models import BatchUnit, ImportBatch, Observation, Revision, Status

OBS = Observation._meta.db_table
REV = Revision._meta.db_table
BATCH = ImportBatch._meta.db_table
STAGE = "observation_stage"
KEY = ("unit_id", "variable_id", "period_id", "breakdown")
CONTENT = ("value", "missing", "status", "source", "comment")
COLUMNS = KEY + CONTENT
KEPT_WHEN_BLANK = ("source", "comment")  # optional notes an import leaves as stored when empty


class Row(NamedTuple):
    """One observation as a writer wants it to be. Keys are database ids. A plain tuple in
    the same column order is accepted too (the importer hands over Polars rows as they are)."""

    unit_id: int
    variable_id: int
    period_id: int
    breakdown: str = ""
    value: float | None = None
    missing: str = ""
    status: str = Status.DRAFT
    source: str = ""
    comment: str = ""


@dataclass
class WriteResult:
    batch: ImportBatch
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    variable_ids: set[int] = field(default_factory=set)
    period_ids: set[int] = field(default_factory=set)
    # The units whose observations changed, however many: recorded with the batch
    # (`BatchUnit`), for who may see it.
    units_written: set[int] = field(default_factory=set)

    @property
    def unit_ids(self) -> set[int] | None:
        """The units written when there are at most UNITS_LISTED of them (a form's save, a
        small file): their recompute then reads only what they can move; None for more."""
        return self.units_written if len(self.units_written) <= UNITS_LISTED else None


UNITS_LISTED = 100


class AlreadyStored(Exception):
    """Raised inside the write's transaction (so nothing is stored) when a row that had to be
    new finds its figure stored: another writer created it after the caller checked.
    `keys` are the (unit_id, variable_id, period_id, breakdown) of those rows."""

    def __init__(self, keys: list[tuple]):
        super().__init__(keys)
        self.keys = keys


def locked(status: str, user) -> bool:
    """The workflow's lock, the one rule for the entry form, the import page and the API:
    once submitted (or approved, published) a figure is no longer the data officer's to
    change; an approver reopens it, with a reason the audit trail keeps. Administrators may
    still correct it directly, as they may do everything."""
    return status != Status.DRAFT and not (user is not None and access.is_admin(user))


def stored_observations(keys: Iterable[tuple], *, lock: bool = False) -> dict[tuple, Observation]:
    """The stored observations of the given (unit_id, variable_id, period_code, breakdown)
    keys, by key; `lock` holds their rows until the transaction ends, so that what a writer
    checked (version, status) is still true when it writes."""
    keys = set(keys)
    if not keys:
        return {}
    found = {}
    for observation in _covering(keys, lock).select_related("period", "unit", "variable"):
        key = (observation.unit_id, observation.variable_id, observation.period.code, observation.breakdown)
        if key in keys:
            found[key] = observation
    return found


class Stored(NamedTuple):
    """What the lock rule (`locked_changes`, `changes`) reads of a stored figure, as
    `stored_states` gives it: plain values, no model objects."""

    unit_id: int
    variable_id: int
    period_code: str
    breakdown: str
    value: float | None
    missing: str
    status: str
    source: str
    comment: str


def stored_states(keys: Iterable[tuple], *, lock: bool = False) -> dict[tuple, Stored]:
    """`stored_observations` for an import's check of a piece: the same rows read (and with
    `lock`, locked), as plain tuples. An update of a country's figures checks hundreds of
    thousands a piece; each as an observation with its unit, variable and period objects
    (their names decoded from JSON) took most of such an import's time (issue 18)."""
    keys = set(keys)
    if not keys:
        return {}
    query = _covering(keys, lock).values_list(
        "unit_id", "variable_id", "period__code", "breakdown", "value", "missing", "status", "source", "comment"
    )
    return {row[:4]: Stored(*row) for row in query if row[:4] in keys}


def _covering(keys: set[tuple], lock: bool):
    """The stored observations of the keys' units, variables and periods (every key among
    them; the caller keeps its own), locked with `lock` until the transaction ends."""
    query = Observation.objects.filter(
        unit_id__in={k[0] for k in keys}, variable_id__in={k[1] for k in keys}, period__code__in={k[2] for k in keys}
    )
    return query.select_for_update(of=("self",)) if lock else query


def locked_changes(
    rows: Iterable[tuple], user, stored: Mapping[tuple, Observation | Stored] | None = None, *, keep_blank: bool = False
) -> list[tuple]:
    """(position, stored observation) of the rows that would change a figure locked for
    `user`. Rows are (unit_id, variable_id, period_code, breakdown, value, missing, status,
    source, comment), as the importer resolves them; a row identical to what is stored
    changes nothing and passes, so sending the same figures again is harmless. With
    `keep_blank` (as `write_observations`) an empty source or comment keeps the stored one."""
    rows = list(rows)
    if stored is None:
        stored = stored_observations(row[:4] for row in rows)
    refused = []
    for position, row in enumerate(rows):
        observation = stored.get(tuple(row[:4]))
        if observation is None or not locked(observation.status, user):
            continue
        if changes(row, observation, keep_blank=keep_blank):
            refused.append((position, observation))
    return refused


def changes(row: tuple, observation: Observation | Stored, *, keep_blank: bool = False) -> bool:
    """Whether writing `row` (in `locked_changes`' column order) would change `observation`;
    with `keep_blank` an empty source or comment keeps the stored one, as in
    `write_observations`."""
    now = (observation.value, observation.missing or "", observation.status, observation.source, observation.comment)
    wanted = tuple(row[4:9])
    if keep_blank:
        wanted = wanted[:3] + tuple(mine or theirs for mine, theirs in zip(wanted[3:], now[3:], strict=True))
    return wanted != now


def _match(a: str, b: str) -> str:
    return " AND ".join(f"{a}.{c} = {b}.{c}" for c in KEY)


def _identical(a: str, b: str) -> str:
    # NULL-safe equality in a form both SQLite and PostgreSQL accept.
    return " AND ".join(f"({a}.{c} = {b}.{c} OR ({a}.{c} IS NULL AND {b}.{c} IS NULL))" for c in CONTENT)


def write_observations(
    rows: Iterable[Row | tuple],
    *,
    batch: ImportBatch,
    actor=None,
    note: str = "",
    new_only: Iterable[tuple] = (),
    keep_blank: bool = False,
) -> WriteResult:
    """Write rows as one all-or-nothing operation recorded under `batch`; `note` (a reopening
    reason, the revision restored) goes into the audit event.

    `keep_blank` (a file's import): an empty source or comment keeps what is stored instead
    of erasing it, since an empty optional column says nothing about them (issue 19).

    `new_only` are the keys (unit_id, variable_id, period_id, breakdown) of rows that must
    not overwrite a stored figure (an API row sent with version 0: "I saw none"). A caller's
    check before the write cannot hold such a key, since there is no row to lock, so it is
    enforced here, where the insert meets a concurrent writer's row: when any of them finds
    a different figure stored, `AlreadyStored` is raised and nothing is written. Sending
    exactly what is stored is no conflict.

    Rows identical to what is stored are counted as unchanged and leave no revision, so
    re-importing the same file is harmless. When a key occurs twice, the last row wins. The
    caller has validated the rows already; the table's constraints are the last guard.
    """
    with transaction.atomic():
        # Python's dict keeps the last row per key, in one pass at C speed for tuples.
        latest = {tuple(row[:4]): row for row in rows}
        open_stage()
        staged = bulk.append_rows(STAGE, COLUMNS, latest.values())
        del latest
        return write_staged(staged, batch=batch, actor=actor, note=note, new_only=new_only, keep_blank=keep_blank)


def open_stage(extra: tuple[tuple[str, str], ...] = ()) -> None:
    """The empty temporary table (`STAGE`) that `write_staged` writes from: the observation
    columns (`COLUMNS`) and `extra` ones of the caller's (the importer's row numbers)."""
    bulk.create_stage(STAGE, OBS, COLUMNS, extra)


def write_staged(
    staged: int,
    *,
    batch: ImportBatch,
    actor=None,
    note: str = "",
    new_only: Iterable[tuple] = (),
    keep_blank: bool = False,
    references: dict[str, set[int]] | None = None,
) -> WriteResult:
    """`write_observations` for the `staged` rows a caller has put in the stage itself
    (`open_stage`, `bulk.append_frame`), one key per row: the importer streams a file into it
    batch by batch, so a file of any size is written in bounded memory. Must run inside the
    caller's transaction. `references` ("unit_id", "variable_id", "period_id" -> ids), when
    the caller has collected them, spare reading them back from the stage."""
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)  # the same text on every path under SQLite
    user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    q = bulk.quote
    result = WriteResult(batch=batch)
    new_only = set(new_only)
    with transaction.atomic():
        _stamp(batch, now)
        result.rows = staged
        with connection.cursor() as cursor:
            _check_references(cursor, references or {})
            # A file of new figures (the usual first import) meets no stored row, and the
            # comparisons below are skipped. When no (variable, period) slice it touches
            # holds a figure yet, a probe of the index per slice says so; otherwise one
            # join counts the stored keys.
            cursor.execute(
                f"SELECT 1 FROM (SELECT DISTINCT variable_id, period_id FROM {q(STAGE)}) s WHERE EXISTS "
                f"(SELECT 1 FROM {q(OBS)} o WHERE o.variable_id = s.variable_id AND o.period_id = s.period_id) LIMIT 1"
            )
            existing = 0
            if cursor.fetchone() is not None:
                cursor.execute(f"SELECT COUNT(*) FROM {q(STAGE)} s JOIN {q(OBS)} o ON {_match('s', 'o')}")
                existing = cursor.fetchone()[0]
            result.unchanged = 0
            if existing and keep_blank:
                blank = " OR ".join(f"s.{c} = ''" for c in KEPT_WHEN_BLANK)
                kept = ", ".join(f"{c} = CASE WHEN s.{c} = '' THEN o.{c} ELSE s.{c} END" for c in KEPT_WHEN_BLANK)
                cursor.execute(
                    f"UPDATE {q(STAGE)} AS s SET {kept} FROM {q(OBS)} o WHERE {_match('s', 'o')} AND ({blank})"
                )
            if existing:
                cursor.execute(
                    f"SELECT COALESCE(SUM(CASE WHEN {_identical('s', 'o')} THEN 1 ELSE 0 END), 0) "
                    f"FROM {q(STAGE)} s JOIN {q(OBS)} o ON {_match('s', 'o')}"
                )
                result.unchanged = cursor.fetchone()[0]
            result.created = result.rows - existing
            result.updated = existing - result.unchanged
            if result.unchanged:
                cursor.execute(
                    f"DELETE FROM {q(STAGE)} WHERE EXISTS (SELECT 1 FROM {q(OBS)} o "
                    f"WHERE {_match(q(STAGE), 'o')} AND {_identical(q(STAGE), 'o')})"
                )
            if result.created or result.updated:
                cursor.execute(f"SELECT DISTINCT variable_id, period_id FROM {q(STAGE)}")
                for variable_id, period_id in cursor.fetchall():
                    result.variable_ids.add(variable_id)
                    result.period_ids.add(period_id)
                # The stage now holds the rows that change (the unchanged are deleted above).
                cursor.execute(f"SELECT DISTINCT unit_id FROM {q(STAGE)}")
                result.units_written = {row[0] for row in cursor.fetchall()}
                cols = ", ".join(COLUMNS)
                if new_only and existing:
                    _refuse_stored(cursor, new_only, batch.pk, stamp)
                if result.updated:
                    _update_changed(cursor, stamp, user_id, batch.pk)
                if result.created:
                    inserted = _insert_new(cursor, cols, [stamp, user_id, batch.pk], all_new=not existing)
                    if inserted < result.created:
                        if new_only:
                            _refuse_stored(cursor, new_only, batch.pk, stamp)
                        # Another writer stored some of these keys after they were counted
                        # (PostgreSQL runs writers side by side under READ COMMITTED; SQLite
                        # serialises them): those rows are updates now, not lost writes.
                        _update_changed(cursor, stamp, user_id, batch.pk, skip_own=True)
                        cursor.execute(
                            f"SELECT COUNT(*) FROM {q(OBS)} WHERE updated_at = %s AND batch_id = %s", [stamp, batch.pk]
                        )
                        written = cursor.fetchone()[0]
                        result.created, result.updated = inserted, written - inserted
                # Every observation this operation wrote carries its batch and time stamp,
                # so one statement snapshots the changed ones as revisions; the new ones
                # (version 1) are their own first revision.
                if result.updated:
                    cursor.execute(
                        f"{_INTO_REVISIONS} "
                        f"SELECT id, version, value, missing, status, source, comment, %s, %s, %s, batch_id "
                        f"FROM {q(OBS)} WHERE updated_at = %s AND batch_id = %s AND version > 1",
                        [stamp, user_id, batch.via, stamp, batch.pk],
                    )
        bulk.drop_stage(STAGE)
        _finish(result, actor=actor, note=note)
    return result


def _stamp(batch: ImportBatch, now) -> None:
    """Give the batch its write's time stamp (`ImportBatch.written_at`, by which the figures
    it created are found while they are their own first revision) and save it if new. A
    batch records one write: a second would hide the first one's figures."""
    if batch.written_at is not None:
        raise ValueError(f"batch {batch.pk} has written its figures already; a write takes a batch of its own")
    batch.written_at = now
    if batch.pk is None:
        batch.save()


_INTO_REVISIONS = (
    f"INSERT INTO {bulk.quote(REV)} (observation_id, version, value, missing, status, source, comment, "
    f"changed_at, changed_by_id, via, batch_id)"
)


def _update_changed(cursor, stamp, user_id, batch_id: int, *, skip_own: bool = False) -> None:
    """Write the staged rows over their stored figures, each a version up, first storing the
    first version of those still at it (version 1: until now the row itself was that
    version, models.Revision). `skip_own`: leave out the rows this write has just inserted
    (its batch and time stamp).

    Two writers may change the same first version at once (PostgreSQL runs them side by
    side; the row lock is taken by the UPDATE, after the copy): both read version 1 and
    store it, the second waits on the first's unique (observation, version) entry and then
    stores nothing, as the first stored the same version. Its UPDATE then waits for the row
    and makes version 3."""
    q = bulk.quote
    own, params = "", []
    if skip_own:
        own, params = "AND NOT (o.batch_id = %s AND o.updated_at = %s)", [batch_id, stamp]
    cursor.execute(
        f"{_INTO_REVISIONS} "
        f"SELECT o.id, 1, o.value, o.missing, o.status, o.source, o.comment, o.updated_at, o.updated_by_id, "
        f"COALESCE(b.via, ''), o.batch_id FROM {q(OBS)} o JOIN {q(STAGE)} s ON {_match('o', 's')} "
        f"LEFT JOIN {q(BATCH)} b ON b.id = o.batch_id WHERE o.version = 1 {own} "
        f"ON CONFLICT (observation_id, version) DO NOTHING",
        params,
    )
    sets = ", ".join(f"{c} = s.{c}" for c in CONTENT)
    cursor.execute(
        f"UPDATE {q(OBS)} AS o SET {sets}, version = o.version + 1, updated_at = %s, updated_by_id = %s, "
        f"batch_id = %s FROM {q(STAGE)} s WHERE {_match('o', 's')} {own}",
        [stamp, user_id, batch_id, *params],
    )


def _finish(result: WriteResult, *, actor, note: str) -> None:
    """The end of every write: the batch's counts, its one audit event and, once the
    transaction commits, the recompute of what changed."""
    batch = result.batch
    batch.rows, batch.created, batch.updated, batch.unchanged = (
        result.rows,
        result.created,
        result.updated,
        result.unchanged,
    )
    batch.save(update_fields=["rows", "created", "updated", "unchanged", "written_at"])
    BatchUnit.objects.bulk_create([BatchUnit(batch=batch, unit_id=unit_id) for unit_id in sorted(result.units_written)])
    via = batch.via
    record(
        "import" if via == "import" else "write",
        batch,
        actor=actor,
        via=via,
        batch=batch,
        after={
            "rows": result.rows,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        },
        note=note,
    )
    if result.variable_ids:
        variable_ids, period_ids = sorted(result.variable_ids), sorted(result.period_ids)
        unit_ids = None if result.unit_ids is None else sorted(result.unit_ids)
        transaction.on_commit(lambda: _enqueue_recompute(variable_ids, period_ids, unit_ids))


NEW = "observation_new"  # `NewRows`' stage: the piece being written


class NewRows:
    """A write of figures whose keys are not stored, piece by piece as a caller checks them
    (an import into (variable, period) slices that held no figure before it: a first load).

    Each piece is staged (`NEW`) and goes into the observation table with one statement;
    each row is its figure's first revision (models.Revision). `write_staged`'s comparison
    with stored rows and its snapshot of the written rows by their time stamp are not needed: nothing can be unchanged, updated or locked, and the
    database writes one piece while the caller reads the next (`tabular.read_ahead`). The
    caller knows no key repeats and checks with `fits` that every slice was empty before the
    write; the unique index is the last guard: a row another writer stored meanwhile raises
    IntegrityError, and the caller rolls back to before the first piece and writes through
    `write_staged` instead. Runs inside the caller's transaction; `finish` ends it as
    `write_staged` does (the batch's counts, one audit event, the recompute on commit)."""

    def __init__(self, *, batch: ImportBatch, actor=None):
        self.actor = actor
        self.result = WriteResult(batch=batch)
        self.now = timezone.now()
        self.stamp = connection.ops.adapt_datetimefield_value(self.now)
        self.user_id = actor.pk if getattr(actor, "is_authenticated", False) else None
        self.checked: dict[str, set[int]] = {column: set() for column, _model in REFERENCES}
        self.slices: dict[tuple[int, int], bool] = {}  # (variable, period) -> empty before the write
        self.staging = False
        # Stamped (and saved) with the first piece: a caller may find that the file does
        # not fit and write it through `write_staged` under a batch of its own instead.
        self.stamped = False

    def fits(self, frame) -> bool:
        """Whether every (variable, period) slice of `frame` held no figure before this write
        began: one probe of the index per slice not seen before."""
        wanted = list(frame.select("variable_id", "period_id").unique().iter_rows())
        unseen = [pair for pair in wanted if pair not in self.slices]
        q = bulk.quote
        with connection.cursor() as cursor:
            for start in range(0, len(unseen), 1000):
                chunk = unseen[start : start + 1000]
                values = ", ".join(f"({int(v)}, {int(p)})" for v, p in chunk)
                cursor.execute(
                    f"WITH s (v, p) AS (VALUES {values}) SELECT v, p FROM s WHERE EXISTS "
                    f"(SELECT 1 FROM {q(OBS)} o WHERE o.variable_id = s.v AND o.period_id = s.p)"
                )
                stored = set(map(tuple, cursor.fetchall()))
                self.slices.update((pair, pair not in stored) for pair in chunk)
        return all(self.slices[pair] for pair in wanted)

    def append(self, frame) -> int:
        """Write the rows of `frame` (a Polars frame of `COLUMNS`, no key stored or repeated);
        return how many."""
        if frame.height == 0:
            return 0
        batch = self.result.batch
        if not self.stamped:
            _stamp(batch, self.now)
            self.stamped = True
        q = bulk.quote
        cols = ", ".join(COLUMNS)
        with connection.cursor() as cursor:
            new = {
                column: set(frame.get_column(column).unique().to_list()) - self.checked[column]
                for column in self.checked
            }
            _check_references(cursor, new)
            for column, ids in new.items():
                self.checked[column] |= ids
            if not self.staging:
                bulk.create_stage(NEW, OBS, COLUMNS)
                self.staging = True
            else:
                cursor.execute(f"DELETE FROM {q(NEW)}")
            bulk.append_frame(NEW, frame.select(COLUMNS))
            cursor.execute(
                f"INSERT INTO {q(OBS)} ({cols}, version, updated_at, updated_by_id, batch_id) "
                f"SELECT {cols}, 1, %s, %s, %s FROM {q(NEW)}",
                [self.stamp, self.user_id, batch.pk],
            )
        result = self.result
        result.rows += frame.height
        result.created += frame.height
        for variable_id, period_id in frame.select("variable_id", "period_id").unique().iter_rows():
            result.variable_ids.add(variable_id)
            result.period_ids.add(period_id)
        result.units_written.update(frame.get_column("unit_id").unique().to_list())
        return frame.height

    def finish(self, note: str = "") -> WriteResult:
        """End the write: the batch's counts, its audit event, the recompute on commit."""
        if not self.stamped:
            _stamp(self.result.batch, self.now)
            self.stamped = True
        bulk.drop_stage(NEW)
        _finish(self.result, actor=self.actor, note=note)
        return self.result


REFERENCES = tuple(
    (f"{name}_id", Observation._meta.get_field(name).related_model) for name in ("unit", "variable", "period")
)


def _check_references(cursor, known: dict[str, set[int]]) -> None:
    """The staged rows' units, variables and periods exist, checked once per distinct id
    rather than by the database row by row (the observation table has no foreign-key
    constraints: PostgreSQL checked each one per row at commit, half of a million-row
    import's time). On PostgreSQL the referenced rows are locked against deletion until
    the transaction ends, as the constraint's own check would; SQLite serialises writers."""
    q = bulk.quote
    for column, model in REFERENCES:
        if column in known:
            wanted = set(known[column])
        else:
            cursor.execute(f"SELECT DISTINCT {column} FROM {q(STAGE)}")
            wanted = {row[0] for row in cursor.fetchall()}
        found: set[int] = set()
        table = model._meta.db_table  # type: ignore[union-attr]
        ids = sorted(wanted)
        for start in range(0, len(ids), 10_000):
            chunk = ids[start : start + 10_000]
            marks = ", ".join(["%s"] * len(chunk))
            lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
            cursor.execute(f"SELECT id FROM {q(table)} WHERE id IN ({marks}){lock}", chunk)
            found.update(row[0] for row in cursor.fetchall())
        if wanted - found:
            raise IntegrityError(
                f"{OBS}.{column} refers to rows that do not exist in {table}: {sorted(wanted - found)[:10]}"
            )


def _refuse_stored(cursor, new_only: set[tuple], batch_id: int, stamp) -> None:
    """Raise AlreadyStored for the staged rows of `new_only` keys that meet a different
    stored figure which this operation did not write."""
    q = bulk.quote
    cursor.execute(
        f"SELECT s.unit_id, s.variable_id, s.period_id, s.breakdown FROM {q(STAGE)} s "
        f"JOIN {q(OBS)} o ON {_match('s', 'o')} "
        f"WHERE (o.batch_id IS NULL OR o.batch_id <> %s OR o.updated_at <> %s) AND NOT ({_identical('s', 'o')})",
        [batch_id, stamp],
    )
    taken = sorted(key for key in map(tuple, cursor.fetchall()) if key in new_only)
    if taken:
        raise AlreadyStored(taken)


def _insert_new(cursor, cols: str, params: list, *, all_new: bool = False) -> int:
    """Insert the staged rows whose keys are not stored; return how many were inserted.

    A plain INSERT of the new keys: on PostgreSQL it is 40 % faster than INSERT ... ON
    CONFLICT, whose speculative insertion costs on every row. When a concurrent writer
    inserts one of the same keys first, the unique index makes this statement wait for it
    and then fail; in a savepoint, the retry sees that writer's row and leaves it out.
    `all_new`: none of the staged keys was stored when counted, so the first attempt
    inserts them all without looking each one up (the unique index still guards it).
    """
    q = bulk.quote
    for attempt in range(3):
        new_keys = (
            "" if all_new and attempt == 0 else f"WHERE NOT EXISTS (SELECT 1 FROM {q(OBS)} o WHERE {_match('o', 's')})"
        )
        try:
            with transaction.atomic():
                cursor.execute(
                    f"INSERT INTO {q(OBS)} ({cols}, version, updated_at, updated_by_id, batch_id) "
                    f"SELECT {cols}, 1, %s, %s, %s FROM {q(STAGE)} s {new_keys}",
                    params,
                )
                return cursor.rowcount
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _enqueue_recompute(variable_ids: list[int], period_ids: list[int], unit_ids: list[int] | None) -> None:
    from municipium.lib.signals import raw_figures_changed

    raw_figures_changed(variable_ids, period_ids, unit_ids=unit_ids)
