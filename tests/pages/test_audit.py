"""The coordinator's status board (approve, reopen, publish) and the audit pages: the trail
with its filters and an observation's history with restore. Outsiders get 404."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from municipium.accounts.models import Role
from municipium.audit.models import AuditEvent, record
from municipium.observations import workflow
from municipium.observations.models import Observation, Publication, Revision, Status, Via
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    area = f.service_area("water")
    produced = f.variable("water_produced", area=area)
    billed = f.variable("water_billed", area=area)
    f.indicator("nrw", "100 * (water_produced - water_billed) / water_produced", area=area)
    a, b, c = f.unit("A", {"en": "Alpha"}), f.unit("B", {"en": "Beta"}), f.unit("C", {"en": "Gamma"})
    peers = f.group("peers", [a, b], kind="exchange")  # members see each other's figures
    f.group("others", [c])
    f.write(
        [
            f.row(a, produced, "2024", 1000, status=Status.DRAFT),
            f.row(a, billed, "2024", 800, status=Status.DRAFT),
            f.row(c, produced, "2024", 7, status=Status.DRAFT),
        ]
    )
    users = {}
    for name, kind, scope in (
        ("officer", "officer", {"unit": a}),
        ("approver", "approver", {"unit": a}),
        ("coordinator", "coordinator", {"group": peers}),
        ("outsider", "officer", {"unit": c}),
        ("other_coordinator", "coordinator", {"group": f.group("third", [c])}),
    ):
        users[name] = get_user_model().objects.create_user(name)
        Role.objects.create(user=users[name], kind=kind, **scope)
    users["admin"] = get_user_model().objects.create_superuser("root")
    return {"a": a, "b": b, "c": c, "peers": peers, "produced": produced, **users}


def board(action=""):
    name = f"group-status-{action}" if action else "group-status"
    return reverse(name, args=["peers", "2024"])


def statuses(unit):
    return sorted(Observation.objects.filter(unit=unit).values_list("status", flat=True))


# ----------------------------------------------------------------------------------------
# Status board


def test_the_board_shows_each_members_counts_and_who_submitted_when(client, world):
    workflow.submit(world["officer"], world["a"], "2024")
    client.force_login(world["coordinator"])
    response = client.get(board())
    assert response.status_code == 200
    page = response.content.decode()
    assert "Alpha" in page and "Beta" in page and "Gamma" not in page
    assert "officer," in page  # who submitted, then when
    assert 'name="csrfmiddlewaretoken"' in page and 'action="' + board("approve") + '"' in page
    assert '<th scope="row">' in page and 'label class="form-label small mb-0" for="reopen-A-reason"' in page
    assert " style=" not in page and "onclick" not in page


def test_the_board_names_each_members_last_submission_of_the_period(client, world):
    """Two submissions of A (the second by another officer, after a reopen): the board
    names the later one, once per member; B never submitted."""
    workflow.submit(world["officer"], world["a"], "2024")
    workflow.reopen(world["approver"], world["a"], "2024", "billed water is a month short")
    second = get_user_model().objects.create_user("second_officer")
    Role.objects.create(user=second, kind="officer", unit=world["a"])
    workflow.submit(second, world["a"], "2024")
    first_at, last_at = sorted(
        set(Revision.objects.filter(status=Status.SUBMITTED).values_list("changed_at", flat=True))
    )
    assert first_at < last_at
    period = Observation.objects.filter(unit=world["a"]).first().period
    found = workflow.last_submissions([world["a"], world["b"]], period)
    assert list(found) == [world["a"].pk]
    assert found[world["a"].pk].changed_by == second and found[world["a"].pk].changed_at == last_at

    client.force_login(world["coordinator"])
    page = client.get(board()).content.decode()
    assert "second_officer," in page and "officer, " not in page.replace("second_officer, ", "")


@pytest.mark.parametrize("who", [None, "officer", "approver", "outsider", "other_coordinator"])
def test_the_board_is_not_found_for_anyone_but_its_coordinators(client, world, who):
    if who:
        client.force_login(world[who])
    response = client.get(board())
    assert response.status_code == (302 if who is None else 404)


def test_an_unknown_group_or_a_malformed_period_is_not_found(client, world):
    client.force_login(world["admin"])
    assert client.get(reverse("group-status", args=["nope", "2024"])).status_code == 404
    assert client.get(reverse("group-status", args=["peers", "24"])).status_code == 404
    assert client.get(board()).status_code == 200


def test_the_coordinator_approves_from_the_board(client, world):
    workflow.submit(world["officer"], world["a"], "2024")
    client.force_login(world["coordinator"])
    response = client.post(board("approve"), {"unit": "A"}, follow=True)
    assert "Approved 2 figures" in response.content.decode()
    assert statuses(world["a"]) == [Status.APPROVED] * 2
    assert AuditEvent.objects.filter(via=Via.WORKFLOW, note="approve", actor=world["coordinator"]).exists()


def test_reopening_from_the_board_needs_a_reason(client, world):
    workflow.submit(world["officer"], world["a"], "2024")
    client.force_login(world["coordinator"])
    response = client.post(board("reopen"), {"unit": "A", "reason": ""}, follow=True)
    assert "Say why" in response.content.decode()
    assert statuses(world["a"]) == [Status.SUBMITTED] * 2
    client.post(board("reopen"), {"unit": "A", "reason": "Wrong year"})
    assert statuses(world["a"]) == [Status.DRAFT] * 2
    assert AuditEvent.objects.get(via=Via.WORKFLOW, note__startswith="reopen").note == "reopen: Wrong year"


def test_publishing_with_an_embargo_date_waits(client, world):
    Observation.objects.filter(unit=world["a"]).update(status=Status.APPROVED)
    client.force_login(world["coordinator"])
    later = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    response = client.post(board("publish"), {"publish_after": later}, follow=True)
    assert f"Will be published on {later}" in response.content.decode()
    assert statuses(world["a"]) == [Status.APPROVED] * 2
    assert Publication.objects.get().publish_after.isoformat() == later
    client.post(board("publish"), {"unit": "A"})
    assert statuses(world["a"]) == [Status.PUBLISHED] * 2


def test_an_officer_cannot_approve_through_the_board_and_an_outsider_gets_404(client, world):
    workflow.submit(world["officer"], world["a"], "2024")
    before = f.stored_state()
    client.force_login(world["officer"])
    response = client.post(board("approve"), {"unit": "A"})
    assert response.status_code == 302  # back, with the refusal as a message
    assert f.stored_state() == before
    client.force_login(world["outsider"])
    for action in ("approve", "reopen", "publish"):
        assert client.post(board(action), {"unit": "A", "reason": "x"}).status_code == 404
    client.force_login(world["coordinator"])
    assert client.post(board("approve"), {"unit": "C"}).status_code == 404  # not a member
    assert f.stored_state() == before


# ----------------------------------------------------------------------------------------
# Audit trail


def test_an_administrator_sees_every_event_and_can_filter_them(client, world):
    workflow.submit(world["officer"], world["a"], "2024")
    record("update", model="places.unit", object_id="1", object_repr="Alpha renamed", actor=world["admin"])
    client.force_login(world["admin"])
    page = client.get(reverse("audit")).content.decode()
    assert "Alpha renamed" in page and "A 2024 submit" in page
    page = client.get(reverse("audit"), {"via": "workflow"}).content.decode()
    assert "A 2024 submit" in page and "Alpha renamed" not in page
    page = client.get(reverse("audit"), {"actor": "root"}).content.decode()
    assert "Alpha renamed" in page and "A 2024 submit" not in page
    page = client.get(reverse("audit"), {"model": "places.unit", "action": "update"}).content.decode()
    assert "Alpha renamed" in page
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    page = client.get(reverse("audit"), {"since": tomorrow}).content.decode()
    assert "No events match" in page
    assert 'for="id_since"' in page and " style=" not in page


def test_the_trail_is_paginated(client, world):
    for n in range(55):
        record("update", model="places.unit", object_repr=f"event {n}")
    client.force_login(world["admin"])
    page = client.get(reverse("audit")).content.decode()
    assert "Page 1 of 2" in page and "page=2" in page
    assert "event 54" in page and "event 0<" not in page
    assert "event 0<" in client.get(reverse("audit"), {"page": 2}).content.decode()


def test_a_coordinator_sees_only_events_on_their_groups_units(client, world):
    workflow.submit(world["officer"], world["a"], "2024")
    workflow.submit(world["outsider"], world["c"], "2024")
    record("update", model="places.unit", object_repr="catalogue change")
    client.force_login(world["coordinator"])
    page = client.get(reverse("audit")).content.decode()
    assert "A 2024 submit" in page and "C 2024 submit" not in page and "catalogue change" not in page


@pytest.mark.parametrize("who", ["officer", "approver", "outsider"])
def test_the_trail_is_not_found_for_anyone_but_administrators_and_coordinators(client, world, who):
    client.force_login(world[who])
    assert client.get(reverse("audit")).status_code == 404


# ----------------------------------------------------------------------------------------
# Revision history and restore


@pytest.fixture
def edited(world):
    """A's water produced: 1000 (version 1), then 1200 (version 2), by the officer."""
    f.write([f.row(world["a"], world["produced"], "2024", 1200, status=Status.DRAFT)])
    return Observation.objects.get(unit=world["a"], variable=world["produced"])


def history(observation, name="audit-observation"):
    return reverse(name, args=[observation.pk])


def test_the_history_lists_every_revision(client, world, edited):
    client.force_login(world["officer"])
    page = client.get(history(edited)).content.decode()
    assert "1,000" in page and "1,200" in page and "Restore" in page
    assert page.count('<th scope="row">') == 2


def test_restoring_puts_the_old_value_back_and_is_audited(client, world, edited):
    first = edited.revisions.get(version=1)
    client.force_login(world["officer"])
    response = client.post(history(edited, "audit-restore"), {"revision": first.pk, "version": 2}, follow=True)
    assert "Version 1 restored" in response.content.decode()
    edited.refresh_from_db()
    assert edited.value == 1000 and edited.version == 3 and edited.status == Status.DRAFT
    latest = edited.revisions.get(version=3)
    assert latest.via == Via.RESTORE and latest.changed_by == world["officer"] and latest.value == 1000
    event = AuditEvent.objects.get(via=Via.RESTORE)
    assert event.actor == world["officer"] and "version 1" in event.note


def test_a_restore_over_a_newer_change_is_refused(client, world, edited):
    first = edited.revisions.get(version=1)
    client.force_login(world["officer"])
    response = client.post(history(edited, "audit-restore"), {"revision": first.pk, "version": 1}, follow=True)
    assert "changed this figure meanwhile" in response.content.decode()
    edited.refresh_from_db()
    assert edited.value == 1200 and edited.version == 2


def test_submitted_figures_are_locked_for_the_officer_but_an_approver_may_restore(client, world, edited):
    workflow.submit(world["officer"], world["a"], "2024")
    edited.refresh_from_db()
    first = edited.revisions.get(version=1)
    client.force_login(world["officer"])
    assert "Restore" not in client.get(history(edited)).content.decode()
    response = client.post(
        history(edited, "audit-restore"), {"revision": first.pk, "version": edited.version}, follow=True
    )
    assert "locked" in response.content.decode()
    assert Observation.objects.get(pk=edited.pk).value == 1200
    client.force_login(world["approver"])
    client.post(history(edited, "audit-restore"), {"revision": first.pk, "version": edited.version})
    edited.refresh_from_db()
    assert edited.value == 1000 and edited.status == Status.SUBMITTED  # the status stays


@pytest.mark.parametrize("who", [None, "outsider", "other_coordinator"])
def test_the_history_and_restore_are_not_found_for_outsiders(client, world, edited, who):
    if who:
        client.force_login(world[who])
    first = edited.revisions.get(version=1)
    expected = 302 if who is None else 404
    assert client.get(history(edited)).status_code == expected
    assert client.post(history(edited, "audit-restore"), {"revision": first.pk, "version": 2}).status_code == expected
    assert Observation.objects.get(pk=edited.pk).value == 1200


def test_a_revision_of_another_observation_cannot_be_restored(client, world, edited):
    f.write([f.row(world["c"], world["produced"], "2024", 8, status=Status.DRAFT)])  # a figure with two versions
    other = Revision.objects.exclude(observation=edited).first()
    client.force_login(world["admin"])
    assert client.post(history(edited, "audit-restore"), {"revision": other.pk, "version": 2}).status_code == 404


def test_the_trail_reads_in_words_which_figure_old_to_new_who_when_and_why(client, world, edited):
    """Issue 19 (what LG Inform readers expect): the trail showed Python dictionaries
    ("{'rows': 1, 'created': 0, ...}"); it names the figure, its old and new value, and a
    record's changed fields one by one."""
    record(
        "update",
        model="places.unit",
        object_id="1",
        object_repr="Alpha",
        actor=world["admin"],
        before={"name": {"en": "Alpha"}, "population": 100},
        after={"name": {"en": "Alpha town"}, "population": 100},
        note="renamed by the council",
    )
    client.force_login(world["admin"])
    page = client.get(reverse("audit")).content.decode()
    assert "{'" not in page and "{&#x27;" not in page
    assert "Alpha · water_produced · 2024: 1,000 → 1,200" in page
    assert "name: Alpha → Alpha town" in page and "population" not in page  # unchanged fields left out
    assert "renamed by the council" in page
    # Persian separates the parts with the Persian comma: a middle dot there reads as a zero.
    persian = client.get(reverse("audit").replace("/en/", "/fa/", 1)).content.decode()
    assert "Alpha، water_produced، ۲۰۲۴: ۱٬۰۰۰ → ۱٬۲۰۰" in persian and "·" not in persian


def test_a_large_import_shows_ten_of_its_figures_and_counts_the_rest_in_queries_that_do_not_grow(client, world):
    """A country's import writes millions of figures: the trail reads ten of each batch and
    counts the rest from the batch's own record, never all its revisions (issue 18: two
    imports of a million rows took the page 338 s)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    units = [world["a"], world["b"], *[f.unit(f"Z{i:02d}") for i in range(10)]]
    years = [str(y) for y in range(2000, 2010)]

    def queries(rows: list) -> tuple[int, str]:
        f.write(rows, file_name=f"{len(rows)}.csv")
        client.force_login(world["admin"])
        with CaptureQueriesContext(connection) as captured:
            page = client.get(reverse("audit")).content.decode()
        filters = ('"observations_revision"."batch_id" = ', '"observations_revision"."batch_id" IN (')
        by_batch = [q["sql"] for q in captured if any(where in q["sql"] for where in filters)]
        assert by_batch and all("LIMIT 10" in sql for sql in by_batch), "a batch's revisions are read ten at most"
        return len(captured), page

    small, page = queries([f.row(u, world["produced"], y, 5) for u in units[:3] for y in years[:5]])  # 15 figures
    assert "and 5 more figures" in page
    seven_before = page.count(": 7 (new)")  # the world's own figure of 7
    large, page = queries([f.row(u, world["produced"], y, 7) for u in units for y in years])  # 120, 105 changed
    assert "and 110 more figures" in page  # 120 written, 10 shown
    # Ten of its figures, each a change of the small batch's (5 → 7) or a new one: which ten
    # is the batch index's order, the rows' places in the table, which on PostgreSQL follow
    # the space earlier (rolled-back) tests freed, not always the order of writing.
    assert page.count(": 5 → 7") + page.count(": 7 (new)") - seven_before == 10
    # One more event on the page: its ids, its ten, and their previous versions when any of
    # the ten is a change.
    assert large == small + 2 + (page.count(": 5 → 7") > 0)


def test_a_figure_nobody_changed_shows_its_first_version_from_its_own_row(client, world):
    """A new figure stores no revision: its row is its first version (models.Revision).
    The history shows it as any other, with who wrote it and through what."""
    unchanged = Observation.objects.get(unit=world["a"], variable__code="water_billed")
    assert unchanged.version == 1 and not unchanged.revisions.exists()
    client.force_login(world["officer"])
    page = client.get(history(unchanged)).content.decode()
    assert page.count('<th scope="row">') == 1 and "No revisions recorded" not in page
    assert "800" in page and "Import" in page and "first version" in page
    assert "Restore" not in page  # the current version has nothing to restore


def test_the_board_names_a_submission_written_as_submitted_and_unchanged_since(client, world):
    """Figures an officer's file brings in as submitted are their own submitted version:
    the board finds them through the observations' partial index, not the revisions."""
    officer = world["officer"]
    written = f.write_as(officer, [f.row(world["b"], world["produced"], "2024", 5, status=Status.SUBMITTED)])
    period = Observation.objects.get(unit=world["b"]).period
    found = workflow.last_submissions([world["a"], world["b"]], period)
    assert list(found) == [world["b"].pk]
    assert found[world["b"].pk] == workflow.Submission(officer, written.batch.written_at)
    # Approved later: the submitted first version is stored before it changes, and still counts.
    workflow.approve(world["admin"], world["b"], "2024")
    assert Revision.objects.filter(observation__unit=world["b"], version=1, status=Status.SUBMITTED).exists()
    assert workflow.last_submissions([world["b"]], period) == found
