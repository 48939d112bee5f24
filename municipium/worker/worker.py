"""Municipium's task worker: django-tasks-db's worker with a lease, a reclaim and a reconnect.

django-tasks-db marks a claimed task RUNNING and trusts the worker to finish it. A worker
killed during a task (kill -9, an out-of-memory kill, a lost machine) leaves the task RUNNING
for ever, and a dropped database connection (a restarted or failed-over PostgreSQL, an
administrator's pg_terminate_backend) ends the worker with the queue still full (issue 20).

Here a claimed task carries a lease (`TaskLease`) that a heartbeat thread renews while the
task runs. Before each claim a worker takes back the tasks whose lease has ended: they are
queued again, counted, and given up with a recorded failure after `max_attempts` runs. That
is safe because every task here is idempotent (DESIGN principle 1: a recompute rebuilds the
derived figures from the observations; a release or a reminder is claimed in the database
before it happens). A lost connection is closed and opened again with a growing pause,
never the end of the worker. A finished task is written only while its lease is still this
worker's, so a worker that comes back after its task was taken over changes nothing.

An idle worker looks at the queue every `interval` (WORKER_POLL_SECONDS) and sooner when a
task may have been queued (`Wakeup`): on PostgreSQL every queued task sends a NOTIFY that the
worker LISTENs for; on SQLite the worker asks `PRAGMA data_version`, which changes when
another connection commits and reads no table, every `WAKE_TICK`. A save's recompute thus
starts within a few milliseconds instead of half an interval on average (issue 18). Nothing
depends on it: without a wake-up (an in-memory database, a lost listener) the look every
`interval` remains.
"""

import logging
import random
import sqlite3
import threading
import time
from datetime import timedelta
from traceback import format_exception
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.db import InterfaceError, OperationalError, close_old_connections, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import ngettext
from django_tasks_db.compat import TaskContext, TaskResultStatus, task_finished, task_started
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from .models import TaskLease

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
MAX_ATTEMPTS = 3
# Pauses after a lost connection: 0.5 s, 1 s, 2 s ... up to this, each with some jitter so
# that many workers cut off together do not come back at the same instant.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0

CONNECTION_ERRORS = (OperationalError, InterfaceError)

# What a queued task NOTIFYs on PostgreSQL (`notify_queued`), and how often an idle worker on
# SQLite asks whether another connection committed (a PRAGMA on an open file: microseconds).
NOTIFY_CHANNEL = "municipium_tasks"
WAKE_TICK = 0.02
# After the wake-up's connection failed, the pause ends within this: the worker looks at the
# queue (and finds whether the database is there) and opens the wake-up again.
WAKE_RETRY = 1.0


class WorkerLost(Exception):
    """Recorded as a task's failure when it was given up after its workers kept being lost."""


def is_connection_error(error: BaseException) -> bool:
    """A dropped or refused connection (not a busy SQLite file, which only has to wait)."""
    return isinstance(error, CONNECTION_ERRORS) and not (
        isinstance(error, OperationalError) and error.args and is_locked_database_exception(error)
    )


def reset_connections() -> None:
    """Drop this thread's database connections, dead or alive; the next query opens a new one."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - a dead connection may fail to close; it is dropped anyway
            connection.connection = None


class Backoff:
    def __init__(self, first: float = BACKOFF_FIRST, most: float = BACKOFF_MAX):
        self.first, self.most, self.failures = first, most, 0

    def next_pause(self) -> float:
        pause = min(self.most, self.first * 2**self.failures)
        self.failures += 1
        return pause * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret

    def reset(self) -> None:
        self.failures = 0


def notify_queued(sender, instance, created: bool, using: str, **kwargs) -> None:
    """post_save of a task result: wake the idle workers when a task is queued. NOTIFY is
    delivered when the transaction that queued the task commits, never before."""
    if created and connections[using].vendor == "postgresql":
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])


class Wakeup:
    """An idle worker's pause between two looks at the queue, cut short when a task may
    have been queued (see the module docstring). Any trouble with the wake-up's own
    connection drops it for the pause at hand (it is opened again at the next one): the
    pause is then a plain sleep, never an error of the worker."""

    def __init__(self, alias: str = "default"):
        self.alias = alias
        self.listener = None  # psycopg connection (PostgreSQL) or sqlite3 connection
        self.version: int | None = None

    def wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            vendor = connections[self.alias].vendor
            if vendor == "postgresql":
                self._wait_notify(deadline)
            elif vendor == "sqlite":
                self._wait_data_version(deadline)
        except Exception as error:  # noqa: BLE001 - a wake-up that fails is only a slower pause
            log.info("Wake-up unavailable (%s); looking at the queue every %.1f s", error, seconds)
            self.close()
            deadline = min(deadline, time.monotonic() + WAKE_RETRY)
        rest = deadline - time.monotonic()
        if rest > 0 and self.listener is None:
            time.sleep(rest)

    def _wait_notify(self, deadline: float) -> None:
        if self.listener is None:
            import psycopg

            params = connections[self.alias].get_connection_params()
            self.listener = psycopg.connect(**params, autocommit=True)
            self.listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            # Listening from now on: a task queued before it is found by the look that follows.
            return
        for _ in self.listener.notifies(timeout=max(0.0, deadline - time.monotonic()), stop_after=1):
            break

    def _wait_data_version(self, deadline: float) -> None:
        if self.listener is None:
            name = str(connections[self.alias].settings_dict["NAME"])
            if name == ":memory:" or name.startswith("file:") and "mode=memory" in name:
                return  # nothing another connection could commit to
            self.listener = sqlite3.connect(name, isolation_level=None, check_same_thread=False)
            self.version = self._data_version()
            return
        while time.monotonic() < deadline:
            time.sleep(min(WAKE_TICK, max(0.0, deadline - time.monotonic())))
            version = self._data_version()
            if version != self.version:
                self.version = version
                return

    def _data_version(self) -> int:
        assert isinstance(self.listener, sqlite3.Connection)
        return self.listener.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            try:
                listener.close()
            except Exception:  # noqa: BLE001 - a dead connection may fail to close; it is dropped anyway
                pass


class Heartbeat(threading.Thread):
    """Renews one task's lease every quarter lease, on its own database connection."""

    def __init__(self, task_id, worker_id: str, attempt: int, lease_seconds: float):
        super().__init__(name=f"heartbeat-{task_id}", daemon=True)
        self.task_id, self.worker_id, self.attempt = task_id, worker_id, attempt
        self.lease_seconds = lease_seconds
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.lease_seconds / 4):
                try:
                    now = timezone.now()
                    renewed = TaskLease.objects.filter(
                        task_id=self.task_id, worker_id=self.worker_id, attempts=self.attempt
                    ).update(heartbeat_at=now, expires_at=now + timedelta(seconds=self.lease_seconds))
                    if not renewed:
                        log.warning(
                            "Task id=%s: lease lost to another worker; its result will be dropped", self.task_id
                        )
                        return
                except CONNECTION_ERRORS as error:
                    # Renewed at the next beat; the lease is long enough for several misses.
                    log.warning("Task id=%s: heartbeat failed (%s); trying again", self.task_id, error)
                    if is_connection_error(error):
                        reset_connections()
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=self.lease_seconds)


class LeasedWorker(Worker):
    def __init__(self, *, lease_seconds: float = LEASE_SECONDS, max_attempts: int = MAX_ATTEMPTS, **kwargs: Any):
        super().__init__(**kwargs)
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.backoff = Backoff()
        self.attempt = 0
        self.next_reclaim = 0.0
        self.wakeup = Wakeup()

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        log.info(
            "Starting worker worker_id=%s queues=%s lease=%ss attempts=%s",
            self.worker_id,
            ",".join(self.queue_names),
            self.lease_seconds,
            self.max_attempts,
        )
        if self.startup_delay and self.interval:
            time.sleep(random.random())  # noqa: S311 - spreads workers started together
        while self.running:
            task = None
            try:
                close_old_connections()
                if time.monotonic() >= self.next_reclaim:
                    self.reclaim()
                    self.next_reclaim = time.monotonic() + min(self.lease_seconds / 4, 15)
                task = self.claim()
            except CONNECTION_ERRORS as error:
                if is_connection_error(error):
                    self.connection_lost(error)
                    continue
                # A busy SQLite file: wait and try again.
                if self.running:
                    time.sleep(self.interval)
                continue
            self.backoff.reset()
            if task is not None:
                self.run_task(task)
            elif self.batch:
                log.info("No more tasks to run for worker_id=%s - exiting gracefully.", self.worker_id)
                return
            if self.max_tasks is not None and self._run_tasks >= self.max_tasks:
                log.info("Run maximum tasks (%d) on worker=%s - exiting gracefully.", self._run_tasks, self.worker_id)
                return
            if self.running and task is None:
                self.wakeup.wait(self.interval)

    def connection_lost(self, error: BaseException) -> None:
        pause = self.backoff.next_pause()
        log.warning(
            "Database connection lost (%s: %s); reconnecting in %.1f s",
            type(error).__name__,
            str(error).strip(),
            pause,
        )
        reset_connections()
        if self.running:
            time.sleep(pause)

    def _tasks(self):
        tasks = DBTaskResult.objects.filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        return tasks

    # -- claim, reclaim ------------------------------------------------------------------------

    def claim(self) -> DBTaskResult | None:
        """Take the next ready task and its lease in one transaction."""
        tasks = self._tasks().ready()
        # A plain read first: an idle worker polls often (WORKER_POLL_SECONDS) and should not
        # take SQLite's write lock, or a row lock, to find the queue empty.
        if not tasks.exists():
            return None
        with exclusive_transaction(tasks.db):
            task = tasks.get_locked()
            if task is None:
                return None
            task.claim(self.worker_id)
            now = timezone.now()
            lease = {"worker_id": self.worker_id, "heartbeat_at": now, "expires_at": self._lease_end(now)}
            if not TaskLease.objects.filter(task=task).update(attempts=F("attempts") + 1, **lease):
                TaskLease.objects.create(task=task, attempts=1, **lease)
            self.attempt = TaskLease.objects.values_list("attempts", flat=True).get(task=task)
        return task

    def _lease_end(self, now):
        return now + timedelta(seconds=self.lease_seconds)

    def reclaim(self) -> int:
        """Take back the running tasks whose lease has ended (their worker is gone): queue
        each again, or give it up once it has been tried `max_attempts` times."""
        now = timezone.now()
        ended = Q(lease__expires_at__lt=now) | Q(
            lease__isnull=True, started_at__lt=now - timedelta(seconds=self.lease_seconds)
        )
        stale = self._tasks().filter(status=TaskResultStatus.RUNNING).filter(ended)
        if not stale.exists():
            return 0
        taken = 0
        with exclusive_transaction(stale.db):
            for task in stale.select_for_update(skip_locked=True, of=("self",))[:100]:
                # Renewed since the query above? Then its worker is alive after all.
                lease = TaskLease.objects.select_for_update().filter(task=task).first()
                if lease is not None and lease.expires_at >= now:
                    continue
                self._take_back(task, lease, now)
                taken += 1
        return taken

    def _take_back(self, task: DBTaskResult, lease: TaskLease | None, now, error: BaseException | None = None) -> None:
        if lease is None:  # claimed by a worker without leases (before this one was installed)
            lease = TaskLease(task=task, attempts=1, heartbeat_at=now, expires_at=now)
        lost_from = task.worker_ids[-1] if task.worker_ids else "?"
        lease.worker_id = ""
        if error is None:
            lease.reclaimed += 1
        lease.expires_at = now
        lease.save()
        if lease.attempts >= self.max_attempts:
            reason = ngettext(
                "This task was interrupted %(count)s time (its worker killed, or cut off from the database) and was given up.",
                "This task was interrupted %(count)s times (its workers killed, or cut off from the database) and was given up.",
                lease.attempts,
            ) % {"count": lease.attempts}
            failure = error or WorkerLost(reason)
            DBTaskResult.objects.filter(pk=task.pk).update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                return_value=None,
                exception_class_path=f"{type(failure).__module__}.{type(failure).__qualname__}",
                traceback=reason + "\n" + ("".join(format_exception(error)) if error else ""),
            )
            log.error("Task id=%s given up after %s attempts (last worker %s)", task.pk, lease.attempts, lost_from)
        else:
            DBTaskResult.objects.filter(pk=task.pk).update(status=TaskResultStatus.READY)
            log.warning(
                "Task id=%s taken back from worker %s (attempt %s of %s); queued again",
                task.pk,
                lost_from,
                lease.attempts,
                self.max_attempts,
            )

    # -- running a task ------------------------------------------------------------------------

    def run_task(self, db_task_result: DBTaskResult) -> None:
        heartbeat = Heartbeat(db_task_result.pk, self.worker_id, self.attempt, self.lease_seconds)
        heartbeat.start()
        self.running_task = True
        outcome: dict[str, Any]
        task_result = None
        try:
            task = db_task_result.task
            task_result = db_task_result.task_result
            task_started.send(sender=type(task.get_backend()), task_result=task_result)
            if task.takes_context:
                value = task.call(TaskContext(task_result=task_result), *task_result.args, **task_result.kwargs)
            else:
                value = task.call(*task_result.args, **task_result.kwargs)
            outcome = {"status": TaskResultStatus.SUCCESSFUL, "return_value": value}
        except (KeyboardInterrupt, SystemExit):
            # Stopped by force (a second Ctrl-C): not the task's fault; queue it again.
            heartbeat.stop()
            self._release(db_task_result, error=None, count=False)
            raise
        except BaseException as error:  # noqa: BLE001 - any failure is the task's result
            if is_connection_error(error):
                # The connection died under the task: run it again rather than record it failed.
                log.warning("Task id=%s lost its database connection: %s", db_task_result.pk, error)
                heartbeat.stop()
                reset_connections()
                self._release(db_task_result, error=error, count=True)
                self._after_task()
                return
            outcome = {"status": TaskResultStatus.FAILED, "error": error}
        finally:
            heartbeat.stop()
        self._finish(db_task_result, task_result, outcome)
        self._after_task()

    def _after_task(self) -> None:
        self.running_task = False
        self._run_tasks += 1

    def _owned(self, db_task_result: DBTaskResult):
        return DBTaskResult.objects.filter(
            pk=db_task_result.pk,
            status=TaskResultStatus.RUNNING,
            lease__worker_id=self.worker_id,
            lease__attempts=self.attempt,
        )

    def _finish(self, db_task_result: DBTaskResult, task_result, outcome: dict[str, Any]) -> None:
        """Write the result while the lease is still ours; through a lost connection, retried
        after a reconnect until the lease would have ended (then another worker runs it)."""
        fields: dict[str, Any] = {"finished_at": timezone.now(), "status": outcome["status"]}
        if outcome["status"] == TaskResultStatus.SUCCESSFUL:
            fields.update(return_value=outcome["return_value"], exception_class_path="", traceback="")
        else:
            error = outcome["error"]
            fields.update(
                return_value=None,
                exception_class_path=f"{type(error).__module__}.{type(error).__qualname__}",
                traceback="".join(format_exception(error)),
            )
        deadline = time.monotonic() + self.lease_seconds
        backoff = Backoff()
        while True:
            try:
                try:
                    written = self._owned(db_task_result).update(**fields)
                except CONNECTION_ERRORS:
                    raise
                except Exception as error:  # noqa: BLE001 - e.g. a return value JSON cannot hold
                    fields.update(
                        status=TaskResultStatus.FAILED,
                        return_value=None,
                        exception_class_path=f"{type(error).__module__}.{type(error).__qualname__}",
                        traceback="".join(format_exception(error)),
                    )
                    written = self._owned(db_task_result).update(**fields)
                break
            except CONNECTION_ERRORS as error:
                if time.monotonic() > deadline:
                    log.error("Task id=%s: result not written (%s); the task will run again", db_task_result.pk, error)
                    return
                pause = backoff.next_pause()
                log.warning(
                    "Task id=%s: result not written yet (%s); trying again in %.1f s", db_task_result.pk, error, pause
                )
                if is_connection_error(error):
                    reset_connections()
                time.sleep(pause)
        if not written:
            log.warning("Task id=%s finished after its lease was lost; result dropped", db_task_result.pk)
            return
        for name, value in fields.items():
            setattr(db_task_result, name, value)
        try:
            task_finished.send(sender=type(db_task_result.task.get_backend()), task_result=db_task_result.task_result)
        except (ImportError, SuspiciousOperation):
            log.exception("Task id=%s failed unexpectedly", db_task_result.pk)

    def _release(self, db_task_result: DBTaskResult, *, error: BaseException | None, count: bool) -> None:
        """Give a task this worker can no longer finish back to the queue (or up, after
        `max_attempts`); if the database stays out of reach, its lease ends and another
        worker takes it back."""
        deadline = time.monotonic() + self.lease_seconds
        backoff = Backoff()
        while True:
            try:
                with transaction.atomic():
                    if not self._owned(db_task_result).select_for_update().exists():
                        return
                    lease = TaskLease.objects.select_for_update().get(task_id=db_task_result.pk)
                    if not count:
                        lease.attempts -= 1
                    self._take_back(db_task_result, lease, timezone.now(), error=error)
                return
            except CONNECTION_ERRORS:
                if time.monotonic() > deadline:
                    return
                reset_connections()
                time.sleep(backoff.next_pause())
