"""The queue drains by itself after its worker is killed in the middle of a task or cut off
from the database (issue 20, fault injection).

Real worker processes (`municipium manage municipium_worker`, what `municipium worker` and
`municipium serve` run) share the test database with this test, with a 2-second lease:

* kill -9 during a task, then another worker: the killed worker's task is taken back once
  its lease ends and run again, and the tasks queued meanwhile run too (SQLite and
  PostgreSQL);
* on PostgreSQL, pg_terminate_backend of the worker's connections while it waits for work
  and while it runs a task: the same process reconnects, finishes the task once and goes
  on with the queue. (SQLite has no connection to cut.)

And an idle worker starts a queued task long before its next look at the queue: it is woken
(NOTIFY on PostgreSQL, a commit seen by `PRAGMA data_version` on SQLite), also after its
wake-up's own connection was cut.

The test database of pytest-django is per xdist worker, no port is used, and every name is
the test's own, so these run side by side on CI.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, connections
from django.db.models import F
from django_tasks_db.models import DBTaskResult

from municipium.worker.models import TaskLease
from tests.worker_tasks import mark

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
LEASE = 2.0
TIMEOUT = 25.0  # seconds for anything to happen; a healthy run needs a few
BEAT_SEEN = timedelta(seconds=LEASE / 8)  # the claim writes the lease a moment after started_at


def _postgres_url() -> str:
    db = connection.settings_dict  # during the test, NAME is the test database's
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{'@' if auth else ''}{host}{port}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def database_url(transactional_db, settings, tmp_path):
    """A database URL another process can open, holding this test's database; tasks are
    queued in it (not run inline as in the other tests)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}
    if connection.vendor == "postgresql":
        yield _postgres_url()
        return
    # The SQLite test database lives in memory, out of another process's reach: copy it to
    # a file and point this process's connection at the copy for the test.
    path = tmp_path / "shared.sqlite3"
    connection.ensure_connection()
    with closing(sqlite3.connect(path)) as copy:
        connection.connection.backup(copy)
    in_memory = connections["default"]
    on_file = type(in_memory)({**in_memory.settings_dict, "NAME": str(path)}, "default")
    connections["default"] = on_file
    try:
        yield f"sqlite:///{path}"
    finally:
        on_file.close()
        connections["default"] = in_memory


class Workers:
    def __init__(self, url: str, folder: Path):
        self.url, self.folder = url, folder
        self.started: list[tuple[str, subprocess.Popen, Path]] = []

    def start(self, interval: float = 0.1) -> tuple[str, subprocess.Popen]:
        worker_id = f"w{len(self.started) + 1}-{uuid.uuid4().hex[:8]}"
        log = self.folder / f"{worker_id}.log"
        env = {**os.environ, "DATABASE_URL": self.url, "DEBUG": "0", "PRODUCTION": "0", "LOG_LEVEL": "INFO"}
        env["CONN_MAX_AGE"] = "60"  # a worker keeps its connection between tasks: that one is cut
        env.pop("MUNICIPIUM_TASKS", None)  # the real queue, not inline
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "municipium.cli",
                    "manage",
                    "municipium_worker",
                    "--no-reload",
                    "--no-startup-delay",
                    f"--interval={interval}",
                    f"--lease-seconds={LEASE}",
                    f"--worker-id={worker_id}",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started.append((worker_id, process, log))
        return worker_id, process

    def logs(self) -> str:
        return "\n".join(f"--- {wid} ---\n{log.read_text(errors='replace')[-4000:]}" for wid, _, log in self.started)

    def wait_for(self, condition, what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        pytest.fail(f"not within {TIMEOUT} s: {what}\n{self.logs()}")

    def stop_all(self) -> None:
        for _, process, _ in self.started:
            if process.poll() is None:
                process.kill()
            process.wait()


@pytest.fixture
def workers(database_url, tmp_path):
    pool = Workers(database_url, tmp_path)
    yield pool
    pool.stop_all()


def _all_successful(results) -> bool:
    ids = [r.id for r in results]
    return DBTaskResult.objects.filter(id__in=ids, status="SUCCESSFUL").count() == len(ids)


def test_a_task_whose_worker_was_killed_is_taken_back_and_the_queue_drains(workers, tmp_path):
    folder = str(tmp_path)
    slow = mark.enqueue(folder, "slow", 60)
    first_id, first = workers.start()
    workers.wait_for(lambda: (tmp_path / "slow.1").exists(), "the first worker begins the slow task")

    second_id, second = workers.start()  # it starts up while the first one is killed
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert DBTaskResult.objects.get(id=slow.id).status == "RUNNING"  # what issue 20 found: stuck
    newer = [mark.enqueue(folder, f"newer{i}") for i in range(3)]

    workers.wait_for(lambda: _all_successful([slow, *newer]), "every task done by the second worker")
    stored = DBTaskResult.objects.get(id=slow.id)
    assert stored.worker_ids == [first_id, second_id]
    lease = TaskLease.objects.get(task_id=slow.id)
    assert (lease.attempts, lease.reclaimed) == (2, 1)
    assert sorted(p.name for p in tmp_path.glob("slow.*")) == ["slow.1", "slow.2"]
    assert second.poll() is None  # and it waits for more


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("a database connection to cut needs PostgreSQL (SQLite is a file in the worker's own process)")


def _cut_connections() -> int:
    """pg_terminate_backend every other connection to this test's database (the worker's
    and its heartbeat's: each xdist worker has a database of its own)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_a_worker_cut_off_while_waiting_for_work_reconnects_and_goes_on(postgresql_only, workers, tmp_path):
    folder = str(tmp_path)
    first = mark.enqueue(folder, "first")
    _, worker = workers.start()
    workers.wait_for(lambda: _all_successful([first]), "the first task done")

    assert _cut_connections() >= 1
    later = [mark.enqueue(folder, f"later{i}") for i in range(3)]

    workers.wait_for(lambda: _all_successful(later), "the tasks queued after the cut done by the same worker")
    assert worker.poll() is None
    assert "Database connection lost" in workers.logs()


def test_a_worker_cut_off_during_a_task_finishes_it_once_and_goes_on(postgresql_only, workers, tmp_path):
    folder = str(tmp_path)
    slow = mark.enqueue(folder, "slow", 2 * LEASE)
    _, worker = workers.start()
    workers.wait_for(
        lambda: TaskLease.objects.filter(task_id=slow.id, heartbeat_at__gt=F("task__started_at") + BEAT_SEEN).exists(),
        "the heartbeat renews the lease (on a connection of its own)",
    )

    assert _cut_connections() >= 2
    later = mark.enqueue(folder, "later")

    workers.wait_for(lambda: _all_successful([slow, later]), "the cut task and the next one done")
    assert TaskLease.objects.get(task_id=slow.id).attempts == 1
    assert [p.name for p in tmp_path.glob("slow.*")] == ["slow.1"]
    assert worker.poll() is None


def test_an_idle_worker_is_woken_by_a_queued_task_long_before_its_next_look(workers, tmp_path):
    folder = str(tmp_path)
    first = mark.enqueue(folder, "first")
    _, worker = workers.start(interval=60)  # looks at the queue once a minute by itself
    workers.wait_for(lambda: _all_successful([first]), "the first task done (the look at start-up)")
    for round in range(4):
        if round == 3:
            if connection.vendor != "postgresql":
                break
            assert _cut_connections() >= 2  # the worker's and its wake-up's
        time.sleep(0.5)  # idle, waiting
        started = time.monotonic()
        queued = mark.enqueue(folder, f"next{round}")
        workers.wait_for(lambda queued=queued: _all_successful([queued]), f"task {round} done")
        assert time.monotonic() - started < 5, workers.logs()
    assert worker.poll() is None
