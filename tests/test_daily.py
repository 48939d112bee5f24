"""The daily job (`municipium daily`): embargoed publications released and automatic deadline
reminders sent, each exactly once however often, and from however many servers, it runs."""

import datetime as dt
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection, connections
from django.utils.translation import override

from municipium import cli
from municipium.accounts.models import Role
from municipium.audit.models import AuditEvent
from municipium.observations import workflow
from municipium.observations.models import Deadline, Observation, Publication, Status
from tests import factories as f

DUE = dt.date(2025, 3, 31)


def build():
    produced = f.variable("water_produced", area=f.service_area("water"))
    a, b = f.unit("A", {"en": "Alpha"}), f.unit("B", {"en": "Beta"})
    peers = f.group("peers", [a, b])
    f.write([f.row(a, produced, "2024", 1, status=Status.DRAFT), f.row(b, produced, "2024", 2, status=Status.APPROVED)])
    officer = get_user_model().objects.create_user("officer", "officer@example.org")
    Role.objects.create(user=officer, kind=Role.Kind.OFFICER, unit=a)
    coordinator = get_user_model().objects.create_user("coordinator", "coordinator@example.org")
    Role.objects.create(user=coordinator, kind=Role.Kind.COORDINATOR, group=peers)
    workflow.set_deadline(coordinator, peers, "2024", DUE)
    workflow.publish(coordinator, peers, "2024", publish_after=dt.date(2025, 4, 1), today=dt.date(2025, 1, 1))
    return {"a": a, "b": b, "peers": peers, "coordinator": coordinator}


def daily(day: dt.date) -> int:
    return cli.main(["daily", "--today", day.isoformat()])


@pytest.mark.django_db
def test_the_reminder_before_the_deadline_goes_out_once(capsys):
    build()
    assert daily(DUE - dt.timedelta(days=8)) == 0 and not mail.outbox  # too early
    assert daily(DUE - dt.timedelta(days=7)) == 0
    assert [m.to for m in mail.outbox] == [["officer@example.org"]]
    for later in (DUE - dt.timedelta(days=7), DUE - dt.timedelta(days=3), DUE):
        daily(later)
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="remind", actor=None, via="command").count() == 1
    assert "1 reminder sent" in capsys.readouterr().out.splitlines()[1]


@pytest.mark.django_db
def test_the_reminder_after_the_deadline_goes_out_the_day_after_and_once():
    build()
    daily(DUE)  # within the days before: the first reminder
    daily(DUE)
    assert len(mail.outbox) == 1
    daily(DUE + dt.timedelta(days=1))
    daily(DUE + dt.timedelta(days=1))
    daily(DUE + dt.timedelta(days=5))
    assert len(mail.outbox) == 2
    assert [e.after["step"] for e in AuditEvent.objects.filter(action="remind").order_by("at", "id")] == [
        "before",
        "after",
    ]


@pytest.mark.django_db
def test_moving_the_deadline_starts_its_reminders_over():
    world = build()
    daily(DUE)
    moved = DUE + dt.timedelta(days=30)
    workflow.set_deadline(world["coordinator"], world["peers"], "2024", moved)
    daily(DUE + dt.timedelta(days=1))  # the old date has passed, but it is no longer the deadline
    assert len(mail.outbox) == 1
    daily(moved - dt.timedelta(days=7))
    daily(moved + dt.timedelta(days=1))
    assert len(mail.outbox) == 3
    assert all(moved.isoformat() in m.body for m in mail.outbox[1:])


@pytest.mark.django_db
def test_when_everyone_has_submitted_the_step_passes_without_a_message():
    world = build()
    Observation.objects.filter(unit=world["a"]).update(status=Status.SUBMITTED)
    daily(DUE)
    assert not mail.outbox
    assert Deadline.objects.get().reminded_before is not None


@pytest.mark.django_db
def test_the_embargoed_publication_is_released_once_on_its_date():
    world = build()
    daily(dt.date(2025, 3, 31))
    assert Observation.objects.get(unit=world["b"]).status == Status.APPROVED
    assert cli.main(["daily", "--today", "2025-04-01"]) == 0
    assert Observation.objects.get(unit=world["b"]).status == Status.PUBLISHED
    publishes = AuditEvent.objects.filter(note="publish").count()
    assert publishes == 1
    released_at = Publication.objects.get().released_at
    daily(dt.date(2025, 4, 2))
    assert AuditEvent.objects.filter(note="publish").count() == 1
    assert Publication.objects.get().released_at == released_at


@pytest.mark.django_db
def test_a_date_that_is_not_one_is_a_usage_error(capsys):
    assert cli.main(["daily", "--today", "31.03.2025"]) == cli.EXIT_USAGE
    assert "is not a date" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_two_servers_running_the_job_at_once_release_and_remind_once():
    """Two threads, each with its own database connection, as two app servers' cron jobs."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks across connections are what is tested; SQLite serialises writers anyway")
    build()
    start = threading.Barrier(2)
    results = []

    def run():
        try:
            start.wait()
            with override("en"):
                results.append(
                    (
                        workflow.release_due_publications(dt.date(2025, 4, 1)),
                        workflow.send_due_reminders(dt.date(2025, 4, 1)),
                    )
                )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(released for released, _sent in results) == [0, 1]
    assert sorted(sent for _released, (sent, _failed) in results) == [0, 1]
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="remind").count() == 1
    assert AuditEvent.objects.filter(note="publish").count() == 1
