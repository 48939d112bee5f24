"""A task's lease, step by step in one process (the real processes: test_worker_faults.py).

A worker that claims a task holds its lease; a lease that ends is taken back (counted) and
the task queued again, and after `max_attempts` interrupted runs it is given up with a
recorded failure; a worker whose lease was taken over cannot write its late result; a task
left RUNNING by a worker without leases is taken back too.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from municipium.worker.models import TaskLease
from municipium.worker.worker import LeasedWorker
from tests.worker_tasks import lose_connection, mark

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _queued_in_the_database(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": []}}


def _worker(worker_id: str, max_attempts: int = 3) -> LeasedWorker:
    return LeasedWorker(
        queue_names=["default"],
        excluded_queue_names=[],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        lease_seconds=60,
        max_attempts=max_attempts,
    )


def _lose_the_lease() -> None:
    TaskLease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))


def test_a_claimed_task_holds_a_lease_of_its_worker(tmp_path):
    result = mark.enqueue(str(tmp_path), "a")

    task = _worker("one").claim()

    assert task.id == result.db_result.id and task.status == "RUNNING"
    lease = TaskLease.objects.get(task=task)
    assert (lease.worker_id, lease.attempts, lease.reclaimed) == ("one", 1, 0)
    assert lease.expires_at > timezone.now() + timedelta(seconds=50)
    assert _worker("two").reclaim() == 0  # alive: nothing to take back


def test_a_task_whose_lease_ended_is_queued_again_and_counted(tmp_path):
    mark.enqueue(str(tmp_path), "a")
    _worker("one").claim()
    _lose_the_lease()

    assert _worker("two").reclaim() == 1

    task = DBTaskResult.objects.get()
    assert task.status == "READY"
    lease = TaskLease.objects.get()
    assert (lease.worker_id, lease.attempts, lease.reclaimed) == ("", 1, 1)
    again = _worker("two").claim()
    assert again.worker_ids == ["one", "two"]
    assert TaskLease.objects.get().attempts == 2


def test_a_task_interrupted_max_attempts_times_is_given_up_with_a_recorded_failure(tmp_path):
    mark.enqueue(str(tmp_path), "a")
    for worker_id in ("one", "two"):
        _worker(worker_id, max_attempts=2).claim()
        _lose_the_lease()
        _worker("reaper", max_attempts=2).reclaim()

    task = DBTaskResult.objects.get()
    assert task.status == "FAILED"
    assert task.finished_at is not None
    assert task.exception_class_path == "municipium.worker.worker.WorkerLost"
    assert "interrupted 2 times" in task.traceback
    assert task.task_result.errors  # what the task framework shows of a failure
    assert TaskLease.objects.get().reclaimed == 2
    assert _worker("three").claim() is None


def test_a_worker_that_lost_its_lease_cannot_write_its_late_result(tmp_path):
    mark.enqueue(str(tmp_path), "a")
    lost = _worker("lost")
    task = lost.claim()
    _lose_the_lease()
    taker = _worker("taker")
    taker.reclaim()
    taker.claim()

    lost._finish(task, None, {"status": "SUCCESSFUL", "return_value": "late"})

    stored = DBTaskResult.objects.get()
    assert (stored.status, stored.return_value) == ("RUNNING", None)
    taker.run_task(DBTaskResult.objects.get())
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_a_task_left_running_by_a_worker_without_leases_is_taken_back(tmp_path):
    mark.enqueue(str(tmp_path), "a")
    DBTaskResult.objects.update(
        status="RUNNING", started_at=timezone.now() - timedelta(hours=1), worker_ids=["db_worker"]
    )

    assert _worker("new").reclaim() == 1

    assert DBTaskResult.objects.get().status == "READY"
    lease = TaskLease.objects.get()
    assert (lease.attempts, lease.reclaimed) == (1, 1)


@pytest.mark.django_db(transaction=True)  # the worker's loop checks its connection as between requests
def test_a_task_that_fails_by_itself_is_recorded_failed_at_once(tmp_path):
    mark.enqueue(str(tmp_path / "no such folder"), "a")
    worker = _worker("one")

    worker.run()  # batch: runs the queue, then stops

    task = DBTaskResult.objects.get()
    assert task.status == "FAILED"
    assert task.exception_class_path == "builtins.FileNotFoundError"
    assert TaskLease.objects.get().attempts == 1


@pytest.mark.django_db(transaction=True)  # the worker drops its (broken) connection
def test_a_task_that_lost_its_connection_is_queued_again_then_given_up_with_the_error():
    lose_connection.enqueue()
    worker = _worker("one", max_attempts=2)

    worker.run_task(worker.claim())

    task = DBTaskResult.objects.get()
    assert task.status == "READY"  # not recorded failed: it runs again
    assert TaskLease.objects.get().attempts == 1

    worker.run_task(worker.claim())

    task = DBTaskResult.objects.get()
    assert task.status == "FAILED"
    assert task.exception_class_path == "django.db.utils.OperationalError"
    assert "interrupted 2 times" in task.traceback
    assert "server closed the connection unexpectedly" in task.traceback


def test_an_administrator_sees_the_leases_and_how_often_each_task_was_taken_back(client, tmp_path):
    from django.contrib.auth import get_user_model

    mark.enqueue(str(tmp_path), "a")
    _worker("one").claim()
    _lose_the_lease()
    _worker("two").reclaim()
    admin = get_user_model().objects.create_superuser("root", "root@example.org", None)
    client.force_login(admin)

    page = client.get("/admin/worker/tasklease/")

    assert page.status_code == 200
    assert "taken back from a lost worker" in page.content.decode()
