"""The siting API: what the caller may read (404 otherwise) and the stored run's figures."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_the_api_shows_readers_the_project_weights_and_run(world):
    code = world.project.code
    viewer = _client(world.viewer)
    assert code in viewer.get("/api/siting/projects").json()
    project = viewer.get(f"/api/siting/projects/{code}").json()
    assert project["epsg"] == 32639 and project["synthetic"] and len(project["members"]) == 4
    assert {c["code"] for c in project["criteria"]} >= {"airports", "faults", "deep-water"}
    weights = viewer.get(f"/api/siting/projects/{code}/weights").json()
    assert sum(weights["weights"].values()) == pytest.approx(1)
    assert any(e["cr"] >= 0.1 and e["responsible"] for e in weights["experts"])
    run = viewer.get(f"/api/siting/projects/{code}/runs/{world.run.number}").json()
    stored = world.run.results["candidates"]
    assert [c["rank"] for c in run["candidates"]] == [c["rank"] for c in stored]
    assert run["candidates"][0]["closeness"] == pytest.approx(stored[0]["closeness"])
    assert run["candidates"][0]["geometry"] is None
    assert run["required_area_m2"] == pytest.approx(world.run.inputs["need"]["area_m2"])
    full = viewer.get(f"/api/siting/projects/{code}/runs/{world.run.number}?geometry=geojson").json()
    assert full["candidates"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert viewer.get(f"/api/siting/projects/{code}/runs/{world.run.number}?geometry=kml").status_code == 422


def test_the_api_hides_projects_from_outsiders(world):
    code = world.project.code
    outsider = _client(world.outsider)
    assert outsider.get("/api/siting/projects").json() == []
    for url in (
        f"/api/siting/projects/{code}",
        f"/api/siting/projects/{code}/weights",
        f"/api/siting/projects/{code}/runs/1",
    ):
        assert outsider.get(url).status_code == 404
    assert _client(world.viewer).get(f"/api/siting/projects/{code}/runs/99").status_code == 404
