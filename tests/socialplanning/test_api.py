"""The social-planning API says what the pages say: needs, the board, quotas, accessibility;
404 to outsiders, 422 for an unknown service type or a bad method."""

import pytest
from django.test import Client

from municipium.socialplanning import planning

pytestmark = pytest.mark.django_db


def _client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_the_api_gives_the_pages_figures_to_insiders_only(world):
    base = f"/api/socialplanning/rounds/{world.round.code}"
    coordinator = _client(world.coordinator)
    assert [r["code"] for r in coordinator.get("/api/socialplanning/rounds").json()] == [world.round.code]
    assert _client(world.outsider).get("/api/socialplanning/rounds").json() == []
    for path in ("", "/needs", "/board", "/shared"):
        assert _client(world.outsider).get(base + path).status_code == 404, path
        assert _client().get(base + path).status_code in (401, 404), path
    needs = {n["service_type"]: n for n in coordinator.get(base + "/needs").json()}
    page = {s.service_type.code: s for s in planning.needs_table(world.round)}
    alpha = next(r for r in needs["day-care-older"]["rows"] if r["unit"] == "BG-T01")
    expected = next(r for r in page["day-care-older"].rows if r.unit.code == "BG-T01")
    assert alpha["need"] == pytest.approx(expected.line.need) and alpha["flags"] == ["under", "waiting"]
    assert needs["day-care-older"]["district"]["recommendation"] == "shared"
    assert next(r for r in needs["day-care-older"]["rows"] if r["unit"] == "BG-T03")["need"] is None
    board = {b["unit"]: b for b in coordinator.get(base + "/board").json()}
    assert set(board) == {"BG-T01", "BG-T02", "BG-T03"}
    access = coordinator.get(base + "/accessibility?service_type=day-care-older&method=none&size=30").json()
    assert {s["settlement"] for s in access["settlements"]} == {"A1", "A2", "B1"}
    assert coordinator.get(base + "/accessibility?service_type=nothing").status_code == 422
    assert coordinator.get(base + "/accessibility?service_type=day-care-older&method=magic").status_code == 422
    assert coordinator.get(base + "/accessibility?service_type=day-care-older&size=-3").status_code == 422
    types = _client().get("/api/socialplanning/service-types").json()
    assert "residential-older" in {t["code"] for t in types}
    tables = {t["code"]: t for t in _client().get("/api/socialplanning/norms").json()}
    assert (
        tables["oecd-ltc-beds"]["status"] == "benchmark"
        and "Health at a Glance 2023" in tables["oecd-ltc-beds"]["source"]
    )
