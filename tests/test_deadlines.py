"""Reporting deadlines per group and period, and reminders: the coordinator sets and moves
a deadline (audited), the board shows it with the members that are late, and a reminder
goes to the officers of members that owe figures and the approvers of those waiting."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from municipium.accounts.models import Role
from municipium.audit.models import AuditEvent
from municipium.observations import workflow
from municipium.observations.models import Deadline, Status
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    area = f.service_area("water")
    produced = f.variable("water_produced", area=area)
    a, b, c, d = (
        f.unit(code, {"en": name}) for code, name in (("A", "Alpha"), ("B", "Beta"), ("C", "Gamma"), ("D", "Delta"))
    )
    peers = f.group("peers", [a, b, c])
    f.group("others", [d])
    # A: a draft (owes), B: submitted (waits for approval), C: nothing at all (owes).
    f.write(
        [
            f.row(a, produced, "2024", 1, status=Status.DRAFT),
            f.row(b, produced, "2024", 2, status=Status.SUBMITTED),
            f.row(d, produced, "2024", 3, status=Status.DRAFT),
        ]
    )
    users = {}
    for name, kind, scope in (
        ("officer_a", "officer", {"unit": a}),
        ("officer_b", "officer", {"unit": b}),
        ("approver_b", "approver", {"unit": b}),
        ("officer_c", "officer", {"unit": c}),
        ("officer_d", "officer", {"unit": d}),
        ("coordinator", "coordinator", {"group": peers}),
    ):
        users[name] = get_user_model().objects.create_user(name, f"{name}@example.org")
        Role.objects.create(user=users[name], kind=kind, **scope)
    return {"a": a, "b": b, "c": c, "peers": peers, **users}


def recipients() -> set[str]:
    return {address for message in mail.outbox for address in message.to}


def test_a_coordinator_sets_and_moves_the_deadline_and_each_change_is_audited(world):
    deadline = workflow.set_deadline(world["coordinator"], world["peers"], "2024", dt.date(2025, 3, 31))
    assert (deadline.group, deadline.period.code, deadline.due) == (world["peers"], "2024", dt.date(2025, 3, 31))
    Deadline.objects.filter(pk=deadline.pk).update(reminded_before=timezone.now())
    workflow.set_deadline(world["coordinator"], world["peers"], "2024", dt.date(2025, 4, 15))
    moved = Deadline.objects.get()
    assert moved.due == dt.date(2025, 4, 15) and moved.reminded_before is None  # a new date, new reminders
    events = list(AuditEvent.objects.filter(model="observations.deadline").order_by("at", "id"))
    assert [e.action for e in events] == ["create", "update"]
    assert events[1].before["due"] == "2025-03-31" and events[1].after["due"] == "2025-04-15"
    workflow.set_deadline(world["coordinator"], world["peers"], "2024", dt.date(2025, 4, 15))
    assert AuditEvent.objects.filter(model="observations.deadline").count() == 2  # no change, no event


@pytest.mark.parametrize("who", ["officer_a", "approver_b"])
def test_only_a_coordinator_sets_deadlines(world, who):
    with pytest.raises(workflow.WorkflowError):
        workflow.set_deadline(world[who], world["peers"], "2024", dt.date(2025, 3, 31))
    assert not Deadline.objects.exists()


def test_a_reminder_goes_to_officers_that_owe_and_approvers_that_are_waited_for(world):
    workflow.set_deadline(world["coordinator"], world["peers"], "2024", dt.date(2025, 3, 31))
    sent = workflow.remind(world["coordinator"], world["peers"], "2024", site="http://stats.example.org/")
    assert sent == 3
    assert recipients() == {"officer_a@example.org", "officer_c@example.org", "approver_b@example.org"}
    to_a = next(m for m in mail.outbox if m.to == ["officer_a@example.org"])
    assert "Alpha" in to_a.body and "2025-03-31" in to_a.body and "http://stats.example.org/en/entry/" in to_a.body
    to_approver = next(m for m in mail.outbox if m.to == ["approver_b@example.org"])
    assert "Beta" in to_approver.body and "approval" in to_approver.body
    event = workflow.last_reminder(world["peers"], workflow._period("2024"))
    assert event.actor == world["coordinator"] and event.after["step"] == "manual"
    assert event.after["recipients"] == ["approver_b", "officer_a", "officer_c"]


def test_nobody_to_remind_is_said_and_nothing_is_recorded(world):
    for unit in (world["a"], world["b"], world["c"]):
        f.write([f.row(unit, f.variable("x_" + unit.code), "2024", 1, status=Status.APPROVED)])
    from municipium.observations.models import Observation

    Observation.objects.filter(unit__in=[world["a"], world["b"]]).update(status=Status.APPROVED)
    with pytest.raises(workflow.WorkflowError, match="Nobody to remind"):
        workflow.remind(world["coordinator"], world["peers"], "2024")
    assert not mail.outbox and workflow.last_reminder(world["peers"], workflow._period("2024")) is None


def test_only_a_coordinator_sends_reminders(world):
    with pytest.raises(workflow.WorkflowError):
        workflow.remind(world["officer_a"], world["peers"], "2024")
    assert not mail.outbox and not AuditEvent.objects.filter(action="remind").exists()


def test_the_board_sets_the_deadline_shows_who_is_late_and_sends_reminders(client, world):
    client.force_login(world["coordinator"])
    board = "/en/groups/peers/status/2024/"
    response = client.post(board + "deadline/", {"due": "2020-01-31"})
    assert response.status_code == 302 and Deadline.objects.get().due == dt.date(2020, 1, 31)
    page = client.get(board).content.decode()
    assert "Figures are due on 2020-01-31." in page and "2 members are late." in page
    assert page.count('class="badge text-bg-danger late"') == 2  # A (drafts) and C (nothing); B submitted
    assert "No reminder has been sent for this period." in page
    client.post(board + "remind/")
    assert len(mail.outbox) == 3
    assert "Last reminder:" in client.get(board).content.decode()


def test_a_bad_deadline_is_refused_with_a_message_and_leaves_the_old_one(client, world):
    workflow.set_deadline(world["coordinator"], world["peers"], "2024", dt.date(2025, 3, 31))
    client.force_login(world["coordinator"])
    response = client.post("/en/groups/peers/status/2024/deadline/", {"due": "31/03/2025x"}, follow=True)
    assert "is not a date" in response.content.decode()
    assert Deadline.objects.get().due == dt.date(2025, 3, 31)
    assert AuditEvent.objects.filter(model="observations.deadline").count() == 1


@pytest.mark.parametrize("who", ["officer_a", "approver_b", "officer_d"])
def test_others_do_not_find_the_deadline_and_reminder_actions(client, world, who):
    client.force_login(world[who])
    assert client.post("/en/groups/peers/status/2024/deadline/", {"due": "2025-03-31"}).status_code == 404
    assert client.post("/en/groups/peers/status/2024/remind/").status_code == 404
    assert not Deadline.objects.exists() and not mail.outbox
