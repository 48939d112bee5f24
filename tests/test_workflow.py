"""The workflow of a unit's figures for a period: draft → submitted → approved → published,
each move by the role it belongs to, through the one write path (revisions, audit), and
publication on an embargo date."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from municipium.accounts.models import Role
from municipium.audit.models import AuditEvent
from municipium.observations import workflow
from municipium.observations.models import Observation, Publication, Revision, Status, Via
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    area = f.service_area("water")
    produced = f.variable("water_produced", area=area)
    billed = f.variable("water_billed", area=area)
    a, b, c = f.unit("A"), f.unit("B"), f.unit("C")
    peers = f.group("peers", [a, b])
    f.group("others", [c])
    f.write(
        [
            f.row(a, produced, "2024", 1000, status=Status.DRAFT),
            f.row(a, billed, "2024", 800, status=Status.DRAFT),
            f.row(b, produced, "2024", 500, status=Status.DRAFT),
        ]
    )
    users = {}
    for name, kind, scope in (
        ("officer", "officer", {"unit": a}),
        ("approver", "approver", {"unit": a}),
        ("coordinator", "coordinator", {"group": peers}),
        ("outsider", "officer", {"unit": c}),
        ("viewer", "viewer", {"unit": a}),
    ):
        users[name] = get_user_model().objects.create_user(name)
        Role.objects.create(user=users[name], kind=kind, **scope)
    return {"a": a, "b": b, "c": c, "peers": peers, "produced": produced, **users}


def statuses(unit):
    return sorted(Observation.objects.filter(unit=unit).values_list("status", flat=True))


def set_status(unit, status):
    Observation.objects.filter(unit=unit).update(status=status)


def workflow_events():
    return AuditEvent.objects.filter(via=Via.WORKFLOW)


def test_an_officer_submits_the_draft_with_a_revision_per_figure_and_one_audit_event(world):
    before = f.versions()
    result = workflow.submit(world["officer"], world["a"], "2024")
    assert result.updated == 2
    assert statuses(world["a"]) == [Status.SUBMITTED] * 2
    assert statuses(world["b"]) == [Status.DRAFT]  # another unit is untouched
    assert len(f.versions()) == len(before) + 2
    assert set(before) <= set(f.versions())  # the drafts' first versions, stored as they were
    assert set(Revision.objects.filter(via=Via.WORKFLOW).values_list("status", "changed_by")) == {
        (Status.SUBMITTED, world["officer"].pk)
    }
    event = workflow_events().get()
    assert event.actor == world["officer"] and event.note == "submit"
    assert Observation.objects.get(unit=world["a"], variable=world["produced"]).value == 1000  # values kept


def test_an_approver_approves_submitted_figures(world):
    workflow.submit(world["officer"], world["a"], "2024")
    workflow.approve(world["approver"], world["a"], "2024")
    assert statuses(world["a"]) == [Status.APPROVED] * 2
    assert Revision.objects.filter(status=Status.APPROVED, changed_by=world["approver"]).count() == 2
    assert workflow_events().filter(actor=world["approver"], note="approve").count() == 1


def test_an_approver_reopens_with_a_reason_that_goes_into_the_audit_note(world):
    set_status(world["a"], Status.APPROVED)
    workflow.reopen(world["approver"], world["a"], "2024", "Billed water is above last year's")
    assert statuses(world["a"]) == [Status.DRAFT] * 2
    event = workflow_events().get()
    assert event.note == "reopen: Billed water is above last year's" and event.actor == world["approver"]


def test_reopening_without_a_reason_is_refused_and_changes_nothing(world):
    set_status(world["a"], Status.SUBMITTED)
    before = f.stored_state()
    for reason in ("", "   "):
        with pytest.raises(workflow.WorkflowError, match="why"):
            workflow.reopen(world["approver"], world["a"], "2024", reason)
    assert f.stored_state() == before and not workflow_events().exists()


@pytest.mark.parametrize(
    "move, who, status",
    [
        ("submit", "viewer", Status.DRAFT),
        ("submit", "approver", Status.DRAFT),
        ("submit", "outsider", Status.DRAFT),
        ("approve", "officer", Status.SUBMITTED),
        ("approve", "viewer", Status.SUBMITTED),
        ("approve", "outsider", Status.SUBMITTED),
        ("reopen", "officer", Status.SUBMITTED),
        ("reopen", "officer", Status.APPROVED),
        ("reopen", "outsider", Status.APPROVED),
    ],
)
def test_a_move_by_the_wrong_role_is_refused_and_changes_nothing(world, move, who, status):
    set_status(world["a"], status)
    before = f.stored_state()
    args = ("a reason",) if move == "reopen" else ()
    with pytest.raises(workflow.WorkflowError, match="may not"):
        getattr(workflow, move)(world[who], world["a"], "2024", *args)
    assert f.stored_state() == before and not workflow_events().exists()


def test_submitted_figures_cannot_be_submitted_again_nor_draft_ones_approved(world):
    with pytest.raises(workflow.WorkflowError, match="no submitted"):
        workflow.approve(world["approver"], world["a"], "2024")
    workflow.submit(world["officer"], world["a"], "2024")
    with pytest.raises(workflow.WorkflowError, match="no draft"):
        workflow.submit(world["officer"], world["a"], "2024")


def test_a_move_can_be_limited_to_one_service_area(world):
    other = f.variable("waste", area=f.service_area("waste"))
    f.write([f.row(world["a"], other, "2024", 3, status=Status.DRAFT)])
    workflow.submit(world["officer"], world["a"], "2024", area=f.service_area("water"))
    assert Observation.objects.get(variable=other).status == Status.DRAFT
    assert statuses(world["a"]).count(Status.SUBMITTED) == 2


def test_a_coordinator_publishes_the_groups_approved_figures_now(world):
    set_status(world["a"], Status.APPROVED)  # b stays draft: not published
    publication = workflow.publish(world["coordinator"], world["peers"], "2024")
    assert publication.released_at is not None and publication.created_by == world["coordinator"]
    assert statuses(world["a"]) == [Status.PUBLISHED] * 2
    assert statuses(world["b"]) == [Status.DRAFT]
    assert Revision.objects.filter(status=Status.PUBLISHED, changed_by=world["coordinator"]).count() == 2
    assert workflow_events().filter(note="publish").count() == 1


@pytest.mark.parametrize("who", ["officer", "approver", "outsider", "viewer"])
def test_only_a_coordinator_of_the_group_may_publish(world, who):
    set_status(world["a"], Status.APPROVED)
    before = f.stored_state()
    with pytest.raises(workflow.WorkflowError, match="coordinator"):
        workflow.publish(world[who], world["peers"], "2024")
    assert f.stored_state() == before and not Publication.objects.exists()


def test_a_coordinator_cannot_publish_a_unit_outside_the_group(world):
    set_status(world["c"], Status.APPROVED)
    with pytest.raises(workflow.WorkflowError, match="not a member"):
        workflow.publish(world["coordinator"], world["peers"], "2024", unit=world["c"])


def test_an_administrator_may_publish_any_group(world):
    admin = get_user_model().objects.create_superuser("root")
    set_status(world["b"], Status.APPROVED)
    workflow.publish(admin, world["peers"], "2024", unit=world["b"])
    assert statuses(world["b"]) == [Status.PUBLISHED]


def test_an_embargoed_publication_waits_for_its_date_and_is_released_after(world):
    set_status(world["a"], Status.APPROVED)
    embargo = dt.date(2025, 3, 1)
    publication = workflow.publish(
        world["coordinator"], world["peers"], "2024", publish_after=embargo, today=dt.date(2025, 2, 1)
    )
    assert publication.released_at is None
    assert statuses(world["a"]) == [Status.APPROVED] * 2
    assert workflow.release_due_publications(dt.date(2025, 2, 28)) == 0
    assert statuses(world["a"]) == [Status.APPROVED] * 2
    assert workflow.release_due_publications(embargo) == 2
    assert statuses(world["a"]) == [Status.PUBLISHED] * 2
    publication.refresh_from_db()
    assert publication.released_at is not None
    assert workflow.release_due_publications(dt.date(2025, 4, 1)) == 0  # released once


def test_figures_reopened_during_the_embargo_are_not_released(world):
    set_status(world["a"], Status.APPROVED)
    workflow.publish(
        world["coordinator"], world["peers"], "2024", publish_after=dt.date(2025, 3, 1), today=dt.date(2025, 1, 1)
    )
    workflow.reopen(world["approver"], world["a"], "2024", "A correction")
    workflow.release_due_publications(dt.date(2025, 3, 2))
    assert statuses(world["a"]) == [Status.DRAFT] * 2


def test_the_release_task_runs_the_release(world):
    set_status(world["a"], Status.APPROVED)
    workflow.publish(
        world["coordinator"], world["peers"], "2024", publish_after=dt.date(2000, 1, 2), today=dt.date(2000, 1, 1)
    )
    workflow.release_publications.enqueue()
    assert statuses(world["a"]) == [Status.PUBLISHED] * 2
