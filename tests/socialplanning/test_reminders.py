"""Deadline reminders of a planning round, sent by `municipium daily` once per municipality,
step and deadline (lib/reminders.send_once): a proposal due at the agency soon, one late (the
district's coordinators told too), draft agreements on shared services due soon; nothing for
a municipality that has sent its proposal, nothing about rounds long past, and a refused
send is tried again the next day."""

import datetime as dt
import smtplib

import pytest
from django.core import mail

from municipium import cli
from municipium.audit.models import AuditEvent
from municipium.socialplanning import services
from municipium.socialplanning.models import Proposal, Reminder

pytestmark = pytest.mark.django_db

AGENCY = dt.date(2023, 3, 31)
AGREEMENTS = dt.date(2023, 3, 15)


@pytest.fixture
def mailed(world):
    for user, address in (
        (world.alpha_officer, "alpha@example.org"),
        (world.beta_officer, "beta@example.org"),
        (world.coordinator, "district@example.org"),
    ):
        user.email = address
        user.save(update_fields=["email"])
    return world


def _recipients():
    return sorted(tuple(m.to) for m in mail.outbox)


def test_a_proposal_due_at_the_agency_is_reminded_once_before_and_once_after(mailed):
    world = mailed
    assert services.send_deadline_reminders(AGENCY - dt.timedelta(days=8)) == (0, 0) and not mail.outbox
    assert services.send_deadline_reminders(AGENCY - dt.timedelta(days=7)) == (2, 0)
    # Gamma has nobody with an address; the coordinator is not told before the deadline.
    assert _recipients() == [("alpha@example.org",), ("beta@example.org",)]
    alpha = next(m for m in mail.outbox if m.to == ["alpha@example.org"])
    assert "due at the agency on 2023-03-31" in alpha.body and "/en/social/rounds/paz-2023/BG-T01/" in alpha.body
    for day in (AGENCY - dt.timedelta(days=3), AGENCY):
        assert services.send_deadline_reminders(day) == (0, 0)
    # Beta sends its proposal; after the deadline Alpha and Gamma are late, and the district
    # hears of both (Gamma's only through it).
    Proposal.objects.create(round=world.round, unit=world.units["BG-T02"], sent_on=AGENCY)
    mail.outbox.clear()
    assert services.send_deadline_reminders(AGENCY + dt.timedelta(days=1)) == (2, 0)
    assert _recipients() == [("alpha@example.org", "district@example.org"), ("district@example.org",)]
    assert sorted(m.subject for m in mail.outbox) == [
        "Late: social services proposal of Alpha",
        "Late: social services proposal of Gamma",
    ]
    assert services.send_deadline_reminders(AGENCY + dt.timedelta(days=2)) == (0, 0)
    assert AuditEvent.objects.filter(model="socialplanning.reminder", action="remind", via="command").count() == 4
    # A round whose deadline passed more than a month ago sends nothing (a first run on an
    # installation with old rounds).
    Reminder.objects.all().delete()
    mail.outbox.clear()
    assert services.send_deadline_reminders(AGENCY + dt.timedelta(days=31)) == (0, 0) and not mail.outbox


def test_the_parties_of_a_draft_shared_agreement_are_reminded_before_the_agreements_are_due(mailed):
    world = mailed
    alpha, beta = world.units["BG-T01"], world.units["BG-T02"]
    shared = services.add_shared(world.coordinator, world.round, world.day_care, alpha, 20, [beta])
    assert services.send_deadline_reminders(AGREEMENTS - dt.timedelta(days=8)) == (0, 0)
    assert services.send_deadline_reminders(AGREEMENTS - dt.timedelta(days=2)) == (2, 0)
    assert _recipients() == [("alpha@example.org",), ("beta@example.org",)]
    assert all(shared.agreement.title in m.body and "due on 2023-03-15" in m.body for m in mail.outbox)
    assert services.send_deadline_reminders(AGREEMENTS) == (0, 0)
    # A signed agreement is not reminded of (a moved deadline would be a new reminder).
    shared.agreement.status = "signed"
    shared.agreement.save()
    type(world.round).objects.filter(pk=world.round.pk).update(agreement_deadline=AGREEMENTS + dt.timedelta(days=2))
    assert services.send_deadline_reminders(AGREEMENTS + dt.timedelta(days=1)) == (0, 0)


def test_a_refused_reminder_is_tried_again_and_the_daily_job_counts_it(mailed, monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPException("refused")

    day = AGENCY - dt.timedelta(days=5)
    monkeypatch.setattr("django.core.mail.send_mail", refuse)
    assert services.send_deadline_reminders(day) == (0, 2)
    assert not Reminder.objects.filter(sent__isnull=False).exists()
    monkeypatch.undo()
    assert cli.main(["daily", "--today", day.isoformat()]) == 0
    assert "2 reminders sent" in capsys.readouterr().out
    assert _recipients() == [("alpha@example.org",), ("beta@example.org",)]
