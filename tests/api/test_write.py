"""Writing observations in bulk: the importer's checks and report, all or nothing."""

import json

from municipium.audit.models import AuditEvent
from municipium.observations.models import ImportBatch, Observation, Revision
from tests.factories import stored_state

from .conftest import Api, obs_row, person, token_for


def officer_api(world, **kwargs):
    return Api(token_for(person("officer_a", "officer", unit=world.a), **kwargs))


def test_good_rows_are_stored_as_one_batch_whose_audit_names_the_token(world):
    api = officer_api(world)
    rows = [
        obs_row("A", "produced", 2025, 120),
        obs_row("A", "billed", "2025", 90.5, source="meter", comment="ok"),
        obs_row("A", "produced", "2024", 101),
    ]  # 2024 is A's draft
    response = api.post("/observations", {"rows": rows})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["rows"], body["created"], body["updated"], body["dry_run"]) == (3, 2, 1, False)
    stored = Observation.objects.get(unit=world.a, variable=world.billed, period__code="2025")
    assert (stored.value, stored.status, stored.source, stored.comment) == (90.5, "draft", "meter", "ok")
    batch = ImportBatch.objects.get(pk=body["batch"])
    assert batch.via == "api" and "officer_a token" in batch.file_name and batch.created_by.username == "officer_a"
    event = AuditEvent.objects.get(batch=batch)
    assert event.via == "api" and event.actor.username == "officer_a" and "officer_a token" in event.object_repr
    assert set(Revision.objects.filter(batch=batch).values_list("via", flat=True)) == {"api"}


def test_one_bad_row_refuses_everything_and_names_row_and_column(world):
    api = officer_api(world)
    before = stored_state()
    rows = [obs_row("A", "produced", 2025, 120), obs_row("A", "billed", 2025, -5), obs_row("A", "prodused", 2025, 1)]
    response = api.post("/observations", {"rows": rows})
    assert response.status_code == 422
    body = response.json()
    assert "nothing was stored" in body["detail"]
    located = {(p["row"], p["column"]) for p in body["problems"]}
    assert located == {(2, "value"), (3, "variable")}
    suggestion = next(p for p in body["problems"] if p["column"] == "variable")
    assert "produced" in suggestion["expected"]
    assert stored_state() == before


def test_malformed_rows_are_refused_in_the_same_error_shape(world):
    api = officer_api(world)
    before = stored_state()
    response = api.post("/observations", {"rows": [obs_row("A", "produced", 2025, 1), {"unit": "A", "value": "lots"}]})
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert {(p["row"], p["column"]) for p in problems} >= {(2, "variable"), (2, "period"), (2, "value")}
    response = api.post("/observations", '{"rows": [', raw=True)
    assert response.status_code == 400 and "JSON" in response.json()["detail"]
    assert api.post("/observations", {"rows": []}).status_code == 422
    both = api.post("/observations", {"rows": [obs_row("A", "produced", 2025, 1, missing="confidential")]})
    assert both.status_code == 422 and both.json()["problems"][0]["column"] == "missing"
    nan = api.post(
        "/observations", '{"rows": [{"unit": "A", "variable": "produced", "period": 2025, "value": NaN}]}', raw=True
    )
    assert nan.status_code == 422
    assert stored_state() == before


def test_writing_another_units_figures_is_refused_naming_the_unit(world):
    api = officer_api(world)
    before = stored_state()
    response = api.post(
        "/observations", {"rows": [obs_row("A", "produced", 2025, 1), obs_row("C", "produced", 2025, 1)]}
    )
    assert response.status_code == 403
    assert "C" in response.json()["detail"] and "A," not in response.json()["detail"]
    assert stored_state() == before


def test_a_token_limited_to_some_units_writes_only_those(world):
    coordinator = person("coord", "coordinator", group=world.east)
    api = Api(token_for(coordinator, units=[world.b]))
    before = stored_state()
    response = api.post("/observations", {"rows": [obs_row("A", "produced", 2025, 1)]})
    assert response.status_code == 403 and "A" in response.json()["detail"]
    assert stored_state() == before
    assert api.post("/observations", {"rows": [obs_row("B", "produced", 2025, 1)]}).status_code == 200


def test_writing_needs_a_token_with_the_write_scope(world):
    before = stored_state()
    rows = {"rows": [obs_row("A", "produced", 2025, 1)]}
    assert Api().post("/observations", rows).status_code == 401
    reader = Api(token_for(person("officer_a", "officer", unit=world.a), scopes=("read",)))
    assert reader.post("/observations", rows).status_code == 403
    viewer = Api(token_for(person("viewer_a", "viewer", unit=world.a)))
    assert viewer.post("/observations", rows).status_code == 403
    assert stored_state() == before


def test_an_officer_cannot_publish_and_an_approver_cannot_enter(world):
    rows = {"rows": [obs_row("A", "produced", 2025, 1, status="published")]}
    before = stored_state()
    response = officer_api(world).post("/observations", rows)
    assert response.status_code == 403 and response.json()["problems"][0]["column"] == "status"
    assert stored_state() == before
    approver = person("approver_a", "approver", unit=world.a)
    assert Api(token_for(approver)).post("/observations", rows).status_code == 403  # may approve, not enter
    # Coordinators publish through the workflow too: tests/api/test_write_workflow.py.


def test_a_dry_run_checks_and_stores_nothing(world):
    api = officer_api(world)
    before = stored_state()
    response = api.post("/observations?dry_run=true", {"rows": [obs_row("A", "produced", 2025, 1)]})
    assert response.status_code == 200 and response.json()["dry_run"] is True and response.json()["rows"] == 1
    bad = api.post("/observations?dry_run=true", {"rows": [obs_row("A", "produced", "2025Q5", 1)]})
    assert bad.status_code == 422 and bad.json()["problems"][0]["column"] == "period"
    assert stored_state() == before


def test_a_request_too_large_is_refused_with_the_error_schema(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    api = officer_api(world)
    rows = [obs_row("A", "produced", 2000 + i, i) for i in range(40)]
    response = api.post("/observations", {"rows": rows})
    assert response.status_code == 413 and json.loads(response.content)["detail"]
