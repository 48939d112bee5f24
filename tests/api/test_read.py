"""Reading the catalogue, units, groups, observations and derived figures."""

import datetime as dt

from django.utils import timezone

from municipium.benchmarks.models import Basis
from municipium.observations.models import Observation
from tests import derived
from tests import factories as f
from tests.factories import person

from .conftest import Api, token_for


def codes(response, *fields):
    return sorted(tuple(item[x] for x in fields) for item in response.json()["items"])


def test_the_catalogue_is_public_with_texts_per_language_formula_and_unit_of_measure(world, public):
    found = public.get("/indicators").json()
    assert [i["code"] for i in found] == ["nrw"]
    nrw = found[0]
    assert nrw["name"] == {"en": "Non-revenue water", "pl": "Woda niedochodowa"}
    assert nrw["formula"] == "100 * (produced - billed) / produced"
    assert nrw["unit_of_measure"]["en"] == "%"
    assert {v["code"] for v in public.get("/variables").json()} == {"produced", "billed"}
    assert public.get("/variables/billed").json()["max_value"] == 1e9
    assert [s["code"] for s in public.get("/service-areas").json()] == ["water"]


def test_units_and_groups_with_memberships(world, public):
    assert codes(public.get("/units"), "code") == [("A",), ("B",), ("C",)]
    assert codes(public.get("/units", {"group": "east"}), "code") == [("A",), ("B",)]
    east = public.get("/groups/east").json()
    assert [m["unit"] for m in east["memberships"]] == ["A", "B"]
    assert public.get("/units/A").json()["code"] == "A"


def test_an_unknown_code_is_not_found_with_the_error_schema(world, public):
    response = public.get("/units/NOPE")
    assert response.status_code == 404
    assert response.json() == {"detail": "not found", "problems": []}
    assert public.get("/indicators/nope").status_code == 404


def test_the_public_reads_published_observations_only(world, public):
    rows = public.get("/observations", {"unit": "A", "limit": 100}).json()["items"]
    assert {r["period"] for r in rows} == {"2023"}
    assert {r["status"] for r in rows} == {"published"}


def test_an_insider_token_reads_its_groups_unpublished_observations(world):
    viewer = person("viewer_b", "viewer", unit=world.b)  # B shares group east with A
    rows = Api(token_for(viewer, ("read",))).get("/observations", {"unit": "A"}).json()["items"]
    assert {(r["period"], r["status"]) for r in rows} == {("2023", "published"), ("2024", "draft")}
    outsider = person("viewer_c", "viewer", unit=world.c)
    rows = Api(token_for(outsider, ("read",))).get("/observations", {"unit": "A"}).json()["items"]
    assert {r["period"] for r in rows} == {"2023"}


def test_filters_by_variable_period_range_and_status(world):
    admin = person("boss", "admin")
    api = Api(token_for(admin))
    got = api.get("/observations", {"variable": "billed", "period_from": "2024", "period_to": "2024"}).json()["items"]
    assert sorted((r["unit"], r["value"]) for r in got) == [("A", 77), ("B", 168), ("C", 54)]
    got = api.get("/observations", {"status": "draft"}).json()["items"]
    assert {(r["unit"], r["period"]) for r in got} == {("A", "2024")}
    got = api.get("/observations", {"unit": ["A", "C"], "variable": "produced", "period_to": "2023"}).json()["items"]
    assert sorted((r["unit"], r["value"]) for r in got) == [("A", 100), ("C", 50)]


def test_unknown_codes_and_bad_periods_in_filters_are_named(world, public):
    response = public.get("/observations", {"unit": ["A", "ZZ"]})
    assert response.status_code == 422
    assert response.json()["problems"][0]["column"] == "unit"
    assert "ZZ" in response.json()["detail"]
    response = public.get("/indicator-values", {"period_from": "20x4"})
    assert response.status_code == 422
    assert response.json()["problems"][0]["column"] == "period_from"
    response = public.get("/observations", {"limit": 100000})
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert problem["column"] == "limit" and problem["message"]
    response = public.get("/observations", {"changed_since": "yesterday"})
    assert response.status_code == 422
    assert response.json()["problems"][0]["column"] == "changed_since"
    assert public.get("/observations", {"status": "lost"}).status_code == 422


def test_pages_are_stable_while_rows_are_added(world):
    api = Api(token_for(person("boss", "admin")))
    seen = []
    page = api.get("/observations", {"limit": 5}).json()
    added = False
    while True:
        seen += [r["id"] for r in page["items"]]
        if not added:
            # Someone stores new figures between our first and second page.
            f.write([f.row(world.c, world.produced, 2022, 40), f.row(world.c, world.billed, 2022, 30)])
            added = True
        if not page["next"]:
            break
        assert page["next"].startswith("http://localhost/api/observations?")
        page = api.client.get(page["next"], headers=api._headers(None)).json()
    assert len(seen) == len(set(seen)), "a row came twice"
    assert sorted(seen) == sorted(Observation.objects.values_list("pk", flat=True)), "a row was missed"


def test_changed_since_returns_only_rows_changed_later(world):
    api = Api(token_for(person("boss", "admin")))
    mark = timezone.now()
    assert api.get("/observations", {"changed_since": mark.isoformat()}).json()["items"] == []
    f.write([f.row(world.b, world.billed, 2023, 151)])
    got = api.get("/observations", {"changed_since": mark.isoformat()}).json()["items"]
    assert [(r["unit"], r["variable"], r["period"], r["value"]) for r in got] == [("B", "billed", "2023", 151)]
    old = (mark - dt.timedelta(days=1)).replace(tzinfo=None).isoformat()  # naive reads as UTC
    assert len(api.get("/observations", {"changed_since": old}).json()["items"]) == 12
    # Offsets PostgreSQL would refuse and moments before year 1 in UTC still answer.
    for moment in ("0056-06-13T04:40:58.9+22:51", "0001-01-01T00:00:00+05:00"):
        assert len(api.get("/observations", {"changed_since": moment}).json()["items"]) == 12


def test_indicator_values_match_the_stored_figures_and_hide_unpublished_ones(world, public):
    got = {(r["unit"], r["period"]): r for r in public.get("/indicator-values", {"indicator": "nrw"}).json()["items"]}
    assert ("A", "2024") not in got  # A's 2024 is a draft
    stored = derived.one(unit=world.b, period="2024", basis=Basis.ALL)
    assert got[("B", "2024")]["value"] == stored.value == 20.0
    assert {r["status"] for r in got.values()} == {"published"}
    insider = Api(token_for(person("officer_a", "officer", unit=world.a), ("read",)))
    mine = {(r["unit"], r["period"]): r for r in insider.get("/indicator-values").json()["items"]}
    assert mine[("A", "2024")]["value"] == 30.0 and mine[("A", "2024")]["status"] == "unpublished"
    assert mine[("B", "2024")]["status"] == "published"


def test_group_statistics_never_show_an_unpublished_members_value_to_the_public(world, public):
    stats = public.get("/group-statistics", {"group": "east", "indicator": "nrw"}).json()["items"]
    s2024 = next(s for s in stats if s["period"] == "2024")
    assert s2024["n"] == 1 and s2024["median"] == 20.0  # B only
    inside = Api(token_for(person("coord", "coordinator", group=world.east), ("read",)))
    s2024 = next(s for s in inside.get("/group-statistics", {"group": "east"}).json()["items"] if s["period"] == "2024")
    assert s2024["n"] == 2 and s2024["status"] == "unpublished"
    west = next(s for s in inside.get("/group-statistics", {"group": "west"}).json()["items"] if s["period"] == "2024")
    assert west["status"] == "published"
