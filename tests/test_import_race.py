"""A figure submitted or approved between a person's check of a file and its commit is not
overwritten by the commit (issue 10): the rights and the workflow's lock are checked inside
the commit's own transaction, with the stored rows locked, for every caller (page, API, CLI).

The interleaving is driven step by step: the check passes, another person moves the figure
on, then the commit runs, exactly the window the import page leaves between its check and
its write."""

import pytest
from django.contrib.auth import get_user_model

from municipium.accounts.models import Role
from municipium.observations import imports, workflow
from municipium.observations.models import Observation, Period, Revision, Status
from tests import factories as f

pytestmark = pytest.mark.django_db

FILE = b"unit,variable,period,value\nRS-1,water_billed,2024,999\n"


@pytest.fixture
def people():
    area = f.service_area("water")
    billed = f.variable("water_billed", area=area, min_value=0)
    unit = f.unit("RS-1")
    f.write([f.row(unit, billed, 2024, 100, status="draft")])
    officer = get_user_model().objects.create_user("officer")
    Role.objects.create(user=officer, kind=Role.Kind.OFFICER, unit=unit)
    approver = get_user_model().objects.create_user("approver")
    Role.objects.create(user=approver, kind=Role.Kind.APPROVER, unit=unit)
    return {"unit": unit, "officer": officer, "approver": approver}


def _checked(officer):
    table, report = imports.read_table(FILE, name="figures.csv")
    resolved, report = imports.check(table, None, report)
    imports.refuse_unwritable(resolved, officer, report)
    assert report.ok, report.problems  # the draft may still be changed: the check passes
    return table


def test_a_figure_submitted_after_the_check_is_not_overwritten_by_the_commit(people):
    table = _checked(people["officer"])
    period = Period.objects.get(code="2024")
    workflow.submit(people["officer"], people["unit"], period)  # meanwhile, in another tab
    revisions = Revision.objects.count()

    report = imports.commit(table, actor=people["officer"])

    assert not report.committed
    assert any("already submitted" in p.message for p in report.problems)
    stored = Observation.objects.get()
    assert (stored.value, stored.status) == (100, Status.SUBMITTED)
    assert Revision.objects.count() == revisions


def test_a_figure_approved_after_the_check_is_not_overwritten_either(people):
    table = _checked(people["officer"])
    period = Period.objects.get(code="2024")
    workflow.submit(people["officer"], people["unit"], period)
    workflow.approve(people["approver"], people["unit"], period)

    report = imports.commit(table, actor=people["officer"])

    assert not report.committed
    assert Observation.objects.get().value == 100


def test_a_role_withdrawn_after_the_check_stops_the_commit(people):
    table = _checked(people["officer"])
    Role.objects.filter(user=people["officer"]).delete()
    people["officer"]._municipium_roles = None  # a new request reads the roles anew

    report = imports.commit(table, actor=people["officer"])

    assert not report.committed
    assert any("may not enter figures for unit RS-1" in p.message for p in report.problems)
    assert Observation.objects.get().value == 100
