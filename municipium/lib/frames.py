"""Polars frames in and out of the database, through Django's own connection.

Going through `django.db.connection` (not a second connection) means a read sees the
caller's uncommitted writes and a write is part of the caller's transaction: the engine
can recompute inside the transaction that saved the observations, and tests (which run
inside a transaction) see what they set up.

Reads on PostgreSQL have the server render the result as one CSV text value, which Polars
parses natively; writes COPY Polars-written CSV into a staging table. Neither makes a Python
object per row. Measured on the 2-core box, one indicator's 227,000 stored rank rows:
string_agg 0.23-0.33 s, COPY TO STDOUT 0.46 s (psycopg yields one message per row),
fetchall() 0.54-0.62 s, ADBC 0.57-0.77 s (its own connection, so it cannot see the
caller's transaction either). ADBC is therefore not worth a second code path here. SQLite
runs in-process; its DB-API cursor is the path. (ADBC's SQLite driver read 500,000 rows
in 1.89 s against the cursor's 3.31 s, but it links a second copy of SQLite into the
process, and two copies do not see each other's file locks: a rebuild that read through it
stopped on "disk I/O error", issue 18. Not an option while Django's sqlite3 is open.)

A result too large for one text value (a download of a country's figures) is read in
chunks instead (`read_chunks`), optionally on a thread of its own while the caller writes
the last chunk (`read_ahead`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import polars as pl
from django.db import connection, connections, transaction
from django.db.models import QuerySet

from municipium.lib import bulk, tabular

Schema = Mapping[str, pl.DataType]


def read_sql(sql: str, params: Sequence = (), *, schema: Schema) -> pl.DataFrame:
    """Run a SELECT and return its rows as a frame with exactly `schema` (names in the
    order the SELECT lists them). Text columns keep "" apart from NULL."""
    if connection.vendor == "postgresql":
        return _read_postgresql(sql, params, schema)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return pl.DataFrame(rows, schema=dict(schema), orient="row")


def read_query(rows: QuerySet, *, schema: Schema) -> pl.DataFrame:
    """`read_sql` of a QuerySet of `values_list` rows, whose fields are `schema`'s in its
    order: the ORM writes the filters and joins, the frame is made without a Python object a
    row (the exports read their chunks so)."""
    sql, params = rows.query.get_compiler(rows.db).as_sql()
    return read_sql(sql, params, schema=schema)


def read_chunks(sql: str, params: Sequence = (), *, schema: Schema, size: int) -> Iterator[pl.DataFrame]:
    """Run a SELECT and yield its rows as frames of at most `size` rows with `schema`, read
    through a chunked cursor (server-side on PostgreSQL): memory holds one chunk whatever
    the result's size, and the first frame comes as soon as the database sends its first
    rows. For results too large for `read_sql`'s one text value (a download of a country's
    figures); one frame a chunk instead of a Python object a row for the callers (issue 18).
    Booleans may come as 0/1 (SQLite): the schema makes them booleans."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield pl.DataFrame(rows, schema=dict(schema), orient="row")


def read_ahead[T](pieces: Iterator[T]) -> Iterator[T]:
    """The items of `pieces`, which read the database, each made in a thread of its own with
    its own connection while the caller works on the previous one (`tabular.read_ahead`):
    the server executes, sorts and sends the next chunk while this process writes the last,
    instead of each waiting for the other (a download of a country's figures: one core
    busy, never two). The thread's connection is closed when `pieces` ends or the caller
    stops. Only on PostgreSQL outside a transaction: inside one the thread's connection would
    not see the caller's writes, and SQLite reads in this process, holding the interpreter's
    lock the caller needs; there the pieces are made in the caller's thread."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return pieces

    def closing() -> Iterator[T]:
        try:
            yield from pieces
        finally:
            connections.close_all()  # the reading thread's own connections

    return tabular.read_ahead(closing(), depth=2)


def _read_postgresql(sql: str, params: Sequence, schema: Schema) -> pl.DataFrame:
    # The server renders the whole result as one CSV text value: one message instead of
    # one per row, which is where COPY TO and fetchall() spend their time in Python.
    # (A text value is capped at 1 GB; the engine reads one indicator at a time, far below.)
    names = [f"c{i}" for i in range(len(schema))]
    fields = [
        f"""'"' || replace({name}, '"', '""') || '"'""" if dtype == pl.String else f"coalesce({name}::text, '')"
        for name, dtype in zip(names, schema.values(), strict=True)
    ]
    line = " || ',' || ".join(fields)
    wrapped = f"SELECT string_agg({line}, E'\\n') FROM ({sql}) AS q ({', '.join(names)})"
    with connection.cursor() as cursor:
        cursor.execute(wrapped, params)
        (text,) = cursor.fetchone()
    if not text:
        return pl.DataFrame(schema=dict(schema))
    # NULL is an empty field and "" a quoted one, so strings keep the difference.
    return pl.read_csv(
        text.encode(),
        has_header=False,
        new_columns=list(schema),
        schema=dict(schema),
        empty_string_is_null=False,
        infer_schema=False,
    )


def upsert(
    table: str,
    frame: pl.DataFrame,
    *,
    conflict: Sequence[str],
    update: Sequence[str],
    constants: Mapping[str, object] | None = None,
) -> int:
    """Insert the frame's rows; where the `conflict` key exists, overwrite `update` columns.

    `constants` are columns with one value for every row (breakdown "", computed_at):
    sent once as parameters instead of once per row. Returns the number of rows sent.
    """
    constants = dict(constants or {})
    if frame.is_empty():
        return 0
    if connection.vendor != "postgresql":
        names = [*frame.columns, *constants]
        # Rows made by Polars a chunk at a time (DataFrame.rows), the constants appended as
        # literal columns: a third of the time a Python generator over iter_rows() took.
        full = frame.with_columns([pl.lit(value).alias(name) for name, value in constants.items()])

        def rows():
            for start in range(0, full.height, bulk.CHUNK):
                yield from full.slice(start, bulk.CHUNK).rows()

        return bulk.upsert(table, names, rows(), conflict=conflict, update=update)
    q = bulk.quote
    stage = q(f"stage_frame_{table}")
    cols = ", ".join(q(c) for c in frame.columns)
    all_cols = ", ".join(q(c) for c in [*frame.columns, *constants])
    sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in update)
    action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
    data = frame.write_csv(include_header=False).encode()
    marks = ", ".join(["%s"] * len(constants))
    select = f"SELECT {cols}{', ' + marks if constants else ''} FROM {stage}"
    with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
        raw = cursor.cursor
        raw.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS SELECT {cols} FROM {q(table)} WITH NO DATA"
        )
        raw.execute(f"TRUNCATE {stage}")
        with raw.copy(f"COPY {stage} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(data)
        raw.execute(
            f"INSERT INTO {q(table)} ({all_cols}) {select} ON CONFLICT ({', '.join(q(c) for c in conflict)}) {action}",
            list(constants.values()),
        )
    return frame.height


def insert(table: str, frame: pl.DataFrame, *, constants: Mapping[str, object] | None = None) -> int:
    """Append the frame's rows to `table` with a plain INSERT: for rows that cannot meet a
    stored key (the caller read the slice and found it empty, under a lock that keeps other
    writers out), where `upsert`'s conflict handling is pure cost. The rows go as a stage's
    do (`bulk.append_frame`: PostgreSQL gets one COPY straight into the table, without
    `upsert`'s staging table and INSERT ... SELECT): a rebuild writes millions of derived
    rows this way (issue 18). `constants` as in `upsert`. Returns the number of rows written."""
    constants = dict(constants or {})
    full = frame.with_columns([pl.lit(value).alias(name) for name, value in constants.items()])
    return bulk.append_frame(table, full)
