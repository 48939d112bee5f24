"""On PostgreSQL, outside a transaction, an open-data download reads each chunk of figures in
a thread of its own while the previous one is written (`frames.read_ahead`, issue 18): the
same bytes as a download read in the caller's thread, and the thread's database connection
is closed when the download ends or the reader stops early. (Inside a transaction, as in the
rest of the suite, and on SQLite, the chunks are read in the caller's thread.)"""

import json
import time

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from municipium.api import opendata
from municipium.benchmarks import engine
from municipium.lib import frames, tabular
from tests import factories as f

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the reading thread's connection must see the data
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="a download reads ahead in a thread of its own on PostgreSQL only",
    ),
]


@pytest.fixture
def figures():
    produced, billed = f.variable("produced"), f.variable("billed")
    f.indicator("nrw", "100 * (produced - billed) / produced", polarity="lower_is_better")
    f.indicator("billed_share", "100 * billed / produced")
    units = [f.unit() for _ in range(9)]
    f.group(None, units[:5]), f.group(None, units[3:])
    f.random_figures(units, (produced, billed), range(2017, 2025), seed=18)
    engine.recompute_all()


def connections_open() -> set[int]:
    """The server processes connected to the test database (other tests' connections may
    close meanwhile: what matters is that none is left that was not there before)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return {pid for (pid,) in cursor.fetchall()}


def left_open(before: set[int], wait: float = 10.0) -> set[int]:
    """The connections open now that were not `before`, once those closed have gone: a
    server process leaves `pg_stat_activity` a moment after its client closed the
    connection (the client does not wait for it), so a closed connection may still be
    listed just after; one left open is still listed after `wait` seconds."""
    deadline = time.monotonic() + wait
    while (left := connections_open() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def downloads(client: Client) -> dict[str, bytes]:
    return {
        fmt: b"".join(client.get(f"/api/data/indicators.{fmt}").streaming_content)
        for fmt in ("csv", "sdmx.csv", "jsonstat")
    }


def test_a_download_read_ahead_in_a_thread_is_the_download_read_in_line(figures, monkeypatch):
    monkeypatch.setattr(opendata, "CHUNK_ROWS", 7)  # many chunks, several per indicator
    threads = []
    read_ahead = tabular.read_ahead

    def spy(pieces, depth=1):
        threads.append(depth)
        return read_ahead(pieces, depth)

    monkeypatch.setattr(tabular, "read_ahead", spy)
    client = Client(HTTP_HOST="localhost")
    before = connections_open()
    ahead = downloads(client)
    assert threads == [2, 2, 2]
    assert not left_open(before)  # each reading thread closed its connection
    monkeypatch.setattr(frames, "read_ahead", lambda pieces: pieces)
    in_line = downloads(client)
    assert ahead["csv"] == in_line["csv"] and ahead["csv"].count(b"\n") > 100
    assert ahead["sdmx.csv"] == in_line["sdmx.csv"]
    got, want = json.loads(ahead["jsonstat"]), json.loads(in_line["jsonstat"])
    assert got.pop("updated") and want.pop("updated")
    assert got == want and got["value"]


def test_a_reader_who_stops_early_stops_the_reading_thread(figures, monkeypatch):
    monkeypatch.setattr(opendata, "CHUNK_ROWS", 5)
    before = connections_open()
    response = Client(HTTP_HOST="localhost").get("/api/data/indicators.csv")
    pieces = iter(response.streaming_content)
    assert next(pieces).startswith("\ufeff".encode())
    response.close()  # the client went away after the first piece
    assert not left_open(before)
