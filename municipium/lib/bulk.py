"""Fast bulk writes that work the same on SQLite and PostgreSQL.

The ORM's bulk_create tops out far below the 100,000 rows/s an import of a country's data
needs, so the hot paths write through the Django connection's own cursor (and so inside the
caller's transaction): PostgreSQL gets COPY into a temporary table followed by one
INSERT ... SELECT ... ON CONFLICT; SQLite gets executemany of INSERT ... ON CONFLICT, which
its in-process engine runs at several hundred thousand rows a second.
"""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice

from django.db import connection, transaction

CHUNK = 50_000


def _chunks(rows: Iterable[Sequence], size: int = CHUNK):
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


# SQLite's page cache (KiB) while a bulk write runs: its default of 2 MB is smaller than the
# leaf pages a million-row insert touches in the observation table's indexes at once (one
# per variable and period), so each row read its pages back from the file, 7 s of a 9 s
# insert. Bounded, so the import's memory still does not grow with the file.
BULK_CACHE_KIB = 64 * 1024


@contextmanager
def bulk_cache() -> Iterator[None]:
    """A larger SQLite page cache, for the main and temporary databases, for the duration of
    a bulk write; given back afterwards. PostgreSQL's buffers are the server's: nothing to do."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA main.cache_size")
        main = cursor.fetchone()[0]
        cursor.execute("PRAGMA temp.cache_size")
        temp = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA main.cache_size = -{BULK_CACHE_KIB}")
        cursor.execute(f"PRAGMA temp.cache_size = -{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA main.cache_size = {int(main)}")
            cursor.execute(f"PRAGMA temp.cache_size = {int(temp)}")


@contextmanager
def checkpoints_elsewhere() -> Iterator[None]:
    """SQLite in WAL mode: this connection's commits do not copy the WAL into the database
    (its automatic checkpoint, `PRAGMA wal_autocheckpoint`), for the duration; another
    thread does it meanwhile (`checkpoint`). The copy is a write of every page again and a
    wait for the disk: a tenth of a country's rebuild in the thread that stored it, which
    the computing thread waited for (issue 18). Given back afterwards; PostgreSQL: nothing."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        pages = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {pages}")


def checkpoint(*, truncate: bool = False) -> None:
    """SQLite: copy what the WAL holds into the database as far as readers allow, without
    waiting for writers (a PASSIVE checkpoint; SQLite releases the interpreter's lock while
    it runs); `truncate`: all of it, then empty the WAL file, waiting for readers and
    writers as long as the connection's busy timeout (then it leaves the rest for later, as
    SQLite's own checkpoints do). PostgreSQL: nothing."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_checkpoint({'TRUNCATE' if truncate else 'PASSIVE'})")


def _secondary_indexes(model) -> dict[str, str]:
    """The model's indexes that enforce nothing (a field's db_index, Meta.indexes; not the
    primary key nor a unique constraint): name -> the CREATE INDEX statement its migration
    ran, from Django's own schema editor, so a recreated index is the one migrations made."""
    # Not entered as a context: SQLite's editor refuses to open inside a transaction, and
    # building the statements needs none of what entering sets up.
    statements = connection.schema_editor(collect_sql=True)._model_indexes_sql(model)  # type: ignore[attr-defined]
    return {str(s.parts["name"]).strip('"`'): str(s) for s in statements}


def _existing_indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {
            name
            for name, info in connection.introspection.get_constraints(cursor, table).items()
            if info["index"] and not info["unique"] and not info["primary_key"]
        }


def restore_indexes(model) -> list[str]:
    """Create the model's secondary indexes that are missing (`indexes_after` was killed
    between dropping and recreating them); return their names. Cheap when none is."""
    table = model._meta.db_table
    missing = {n: sql for n, sql in _secondary_indexes(model).items() if n not in _existing_indexes(table)}
    _create_indexes(list(missing.values()))
    return sorted(missing)


def _create_indexes(statements: Sequence[str]) -> None:
    if not statements:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # An index build sorts the whole table: with the default 64 MB it spills to disk
            # in many runs. Set for this session's builds only, then given back.
            cursor.execute("SET maintenance_work_mem = '512MB'")
        try:
            for sql in statements:
                # IF NOT EXISTS: another process's `restore_indexes` may have built it meanwhile.
                cursor.execute(sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("RESET maintenance_work_mem")


@contextmanager
def indexes_after(model) -> Iterator[None]:
    """Fill an empty table without its secondary indexes, which are built once at the end.

    Each stored row otherwise costs an insert into every index as well; an index on a column
    the rows do not arrive sorted by (the unit of derived figures written indicator by
    indicator) takes one scattered leaf page per row. Building it afterwards is one sort.
    The unique constraints stay: they keep the rows right while the table fills. The indexes
    come back when the block ends, also on an error; were the process killed in between,
    `restore_indexes` (run by every full recompute before it starts) brings them back."""
    table = model._meta.db_table
    dropped = {n: sql for n, sql in _secondary_indexes(model).items() if n in _existing_indexes(table)}
    with connection.cursor() as cursor:
        for name in dropped:
            cursor.execute(f"DROP INDEX {quote(name)}")
    try:
        yield
    finally:
        _create_indexes(list(dropped.values()))


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def upsert(
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    *,
    conflict: Sequence[str],
    update: Sequence[str] = (),
    increment: Sequence[str] = (),
) -> int:
    """Insert rows; where the `conflict` key exists, overwrite `update` columns and add 1 to
    `increment` columns instead. Returns the number of rows sent."""
    cols = ", ".join(quote(c) for c in columns)
    key = ", ".join(quote(c) for c in conflict)
    sets = [f"{quote(c)} = excluded.{quote(c)}" for c in update]
    sets += [f"{quote(c)} = {quote(table)}.{quote(c)} + 1" for c in increment]
    action = f"DO UPDATE SET {', '.join(sets)}" if sets else "DO NOTHING"
    sent = 0
    # wrap_database_errors: psycopg's own errors from the raw cursor become Django's
    # (IntegrityError ...), the same as on every other path.
    with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor, for COPY
            stage = f"stage_{table}"
            for chunk in _chunks(rows):
                # Only the columns we send, without the table's NOT NULL constraints (the
                # id is filled in by the real table); dropped with the transaction.
                raw.execute(
                    f"CREATE TEMPORARY TABLE IF NOT EXISTS {quote(stage)} ON COMMIT DROP AS "
                    f"SELECT {cols} FROM {quote(table)} WITH NO DATA"
                )
                raw.execute(f"TRUNCATE {quote(stage)}")
                with raw.copy(f"COPY {quote(stage)} ({cols}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row(row)
                raw.execute(
                    f"INSERT INTO {quote(table)} ({cols}) SELECT {cols} FROM {quote(stage)} ON CONFLICT ({key}) {action}"
                )
                sent += len(chunk)
        else:
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {quote(table)} ({cols}) VALUES ({marks}) ON CONFLICT ({key}) {action}"
            for chunk in _chunks(rows):
                cursor.executemany(sql, chunk)
                sent += len(chunk)
    return sent


def stage(name: str, like: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Fill a temporary table `name` shaped like `like`'s `columns` with rows; return the count.

    Set-based work (compare, classify, upsert) then runs in SQL against it instead of a
    Python loop per row. The table lives until the end of the transaction on PostgreSQL and
    until `drop_stage` on SQLite (whose DDL is transactional, so a rollback removes it too).
    """
    create_stage(name, like, columns)
    return append_rows(name, columns, rows)


def create_stage(name: str, like: str, columns: Sequence[str], extra: Sequence[tuple[str, str]] = ()) -> None:
    """An empty temporary table `name` with `like`'s `columns` and `extra` (name, SQL type)
    columns of its own (the importer's source row numbers), for `append_rows` and
    `append_frame` to fill."""
    cols = ", ".join(quote(c) for c in columns)
    more = "".join(f", CAST(NULL AS {kind}) AS {quote(column)}" for column, kind in extra)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        suffix = " ON COMMIT DROP" if connection.vendor == "postgresql" else ""
        cursor.execute(
            f"CREATE TEMPORARY TABLE {quote(name)}{suffix} AS SELECT {cols}{more} FROM {quote(like)} WHERE 1 = 0"
        )


def append_rows(name: str, columns: Sequence[str], rows: Iterable[Sequence], *, types: Sequence[str] = ()) -> int:
    """Add rows (tuples in `columns` order) to a stage or a table; return how many. With the
    columns' PostgreSQL `types`, PostgreSQL gets them in COPY's binary format: bytes as
    they are, where the text format spells each byte as two hex digits (the ranks' slices,
    tens of kilobytes each, issue 18). Values as the database takes them
    (`connection.ops.adapt_*`)."""
    cols = ", ".join(quote(c) for c in columns)
    sent = 0
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if connection.vendor == "postgresql":
            binary = " (FORMAT BINARY)" if types else ""
            with cursor.cursor.copy(f"COPY {quote(name)} ({cols}) FROM STDIN{binary}") as copy:
                if types:
                    copy.set_types(list(types))
                for row in rows:
                    copy.write_row(row)
                    sent += 1
        else:
            marks = ", ".join(["%s"] * len(columns))
            for chunk in _chunks(rows):
                cursor.executemany(f"INSERT INTO {quote(name)} ({cols}) VALUES ({marks})", chunk)
                sent += len(chunk)
    return sent


def append_frame(name: str, frame) -> int:
    """Add a Polars frame's rows to a stage (its column names are the stage's); return how
    many. PostgreSQL gets the frame as CSV written by Polars in one COPY, ten times faster
    than a Python call per row; strings are quoted, so only an unquoted \\N is NULL."""
    columns = frame.columns
    if frame.height == 0:
        return 0
    if connection.vendor != "postgresql":
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {quote(name)} ({', '.join(quote(c) for c in columns)}) VALUES ({marks})"
        with connection.cursor() as cursor:
            for piece in frame.iter_slices(CHUNK):
                cursor.executemany(sql, piece.rows())
        return frame.height
    cols = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(f"COPY {quote(name)} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
            for piece in frame.iter_slices(100_000):
                copy.write(piece.write_csv(include_header=False, null_value="\\N", quote_style="non_numeric"))
    return frame.height


def drop_stage(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {quote(name)}")


def delete_where_in(table: str, column: str, values: Sequence) -> None:
    """DELETE ... WHERE column IN (...), chunked under SQLite's bound-parameter limit."""
    with connection.cursor() as cursor:
        for chunk in _chunks(values, 10_000):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {quote(table)} WHERE {quote(column)} IN ({marks})", chunk)


def update_column(model, column: str, rows: Iterable[tuple], *, json: bool = False) -> None:
    """Set one column of many rows by primary key: `rows` are (value, pk) pairs.

    One UPDATE statement executed for all pairs instead of the ORM's bulk_update, whose
    CASE WHEN per row took over 20 seconds for 20,000 survey weights. With `json`, values
    are Python objects stored in a JSON field (text on SQLite, jsonb on PostgreSQL).
    """
    import json as json_module

    placeholder = "%s"
    if json:
        rows = ((json_module.dumps(value), pk) for value, pk in rows)
        if connection.vendor == "postgresql":
            placeholder = "%s::jsonb"
    table, pk = model._meta.db_table, model._meta.pk.column
    sql = f"UPDATE {quote(table)} SET {quote(model._meta.get_field(column).column)} = {placeholder} WHERE {quote(pk)} = %s"
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, 10_000):
            cursor.executemany(sql, chunk)
