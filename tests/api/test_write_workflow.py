"""The API brings figures in by the import page's workflow (issue 20, item 8): rows come in as
draft or submitted; approving and publishing are the workflow's steps (`workflow.publish`
keeps a publication record and its embargo), whoever sends the rows. The rule is the
importer's one (`imports.raised_statuses`), asked by the page and the API alike."""

import pytest

from municipium.accounts.models import Role
from municipium.observations.models import Observation, Publication
from tests.factories import person, stored_state

from .conftest import Api, obs_row, token_for


@pytest.mark.parametrize("status", ["published", "approved"])
def test_an_officer_who_also_approves_cannot_publish_or_approve_through_the_api(world, status):
    officer = person("officer_a", "officer", unit=world.a)
    Role.objects.create(user=officer, kind=Role.Kind.APPROVER, unit=world.a)
    before = stored_state()

    response = Api(token_for(officer)).post(
        "/observations", {"rows": [obs_row("A", "produced", 2025, 1, status=status)]}
    )

    assert response.status_code == 403, response.content
    [problem] = response.json()["problems"]
    assert problem["column"] == "status"
    assert f"cannot be imported as {status}" in problem["message"]
    assert "workflow" in problem["expected"]
    assert stored_state() == before
    assert not Publication.objects.exists()


def test_a_coordinator_publishes_through_the_workflow_not_the_api(world):
    coordinator = Api(token_for(person("coord", "coordinator", group=world.east)))
    response = coordinator.post("/observations", {"rows": [obs_row("A", "produced", 2025, 1, status="published")]})
    assert response.status_code == 403, response.content
    assert not Observation.objects.filter(period__code="2025").exists()


def test_draft_and_submitted_rows_still_come_in_and_an_administrator_may_bring_in_published_ones(world):
    officer = person("officer_a", "officer", unit=world.a)
    Role.objects.create(user=officer, kind=Role.Kind.APPROVER, unit=world.a)
    api = Api(token_for(officer))
    rows = [obs_row("A", "produced", 2025, 1, status="draft"), obs_row("A", "billed", 2025, 1, status="submitted")]
    assert api.post("/observations", {"rows": rows}).status_code == 200
    admin = Api(token_for(person("root", "admin")))
    restored = admin.post("/observations", {"rows": [obs_row("C", "produced", 2025, 1, status="published")]})
    assert restored.status_code == 200, restored.content
