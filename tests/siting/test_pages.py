"""The siting pages as their people use them: who sees what (404 to outsiders), the map page
and its files, the AHP page with its warning, uploads through the page, the downloads."""

import csv
import io
import json

import pytest
from django.test import Client

from municipium.demo import siting as demo
from municipium.siting.models import Expert

pytestmark = pytest.mark.django_db


def _client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_outsiders_get_404_and_readers_read(world):
    code, n = world.project.code, world.run.number
    for url in (
        f"/en/siting/{code}/",
        f"/en/siting/{code}/ahp/",
        f"/en/siting/{code}/runs/{n}/",
        f"/en/siting/{code}/runs/{n}/candidates.csv",
        f"/en/siting/{code}/runs/{n}/overlay.png",
    ):
        assert _client(world.outsider).get(url).status_code == 404, url
        assert _client(world.viewer).get(url).status_code == 200, url
    assert world.project.name not in _client(world.outsider).get("/en/siting/").content.decode()
    assert world.project.name in _client(world.viewer).get("/en/siting/").content.decode()
    # A reader cannot change anything.
    response = _client(world.viewer).post(f"/en/siting/{code}/", {"action": "run"})
    assert response.status_code in (403, 404)
    assert world.project.runs.count() == 1


def test_the_run_page_shows_the_map_candidates_and_sensitivity(world):
    page = _client(world.viewer).get(f"/en/siting/{world.project.code}/runs/{world.run.number}/").content.decode()
    assert 'id="siting-map"' in page and "overlay.png" in page and "synthetic" in page
    assert "Candidate sites" in page and "One weight at a time" in page
    best = world.run.results["candidates"][0]
    assert f"{best['closeness']:.3f}" in page
    persian = _client(world.viewer).get(f"/fa/siting/{world.project.code}/runs/{world.run.number}/").content.decode()
    assert 'dir="rtl"' in persian and "۰٫" in persian  # Persian digits and decimal separator


def test_the_downloads(world):
    base = f"/en/siting/{world.project.code}/runs/{world.run.number}/"
    client = _client(world.viewer)
    assert client.get(base + "overlay.png").content[:4] == b"\x89PNG"
    tif = client.get(base + "suitability.tif")
    assert tif.content[:4] == b"II*\x00" and "attachment" in tif["Content-Disposition"]
    candidates = json.loads(client.get(base + "candidates.geojson").content)
    assert [f["properties"]["rank"] for f in candidates["features"]] == [
        c["rank"] for c in world.run.results["candidates"]
    ]
    constraints = json.loads(client.get(base + "constraints.geojson").content)
    assert {f["properties"]["code"] for f in constraints["features"]} >= {"airports", "settlements", "faults"}
    rows = list(csv.reader(io.StringIO(client.get(base + "candidates.csv").content.decode())))
    assert rows[0][:3] == ["rank", "closeness", "area_ha"] and len(rows) == 1 + len(candidates["features"])
    assert float(rows[1][1]) == pytest.approx(world.run.results["candidates"][0]["closeness"], abs=1e-6)
    pdf = client.get(base + "report.pdf")
    assert pdf.content[:5] == b"%PDF-"
    assert client.get(base + "nothing.txt").status_code == 404


def test_the_ahp_page_warns_and_saves_judgements(world):
    page = _client(world.viewer).get(f"/en/siting/{world.project.code}/ahp/").content.decode()
    assert "cr-warning" in page and "Expert A (demo, hydrogeologist)" in page
    client = _client(world.coordinator)
    form = client.get(f"/en/siting/{world.project.code}/ahp/").context["form"]
    data = {"name": "Expert D"}
    for field, _key, _a, _b in form.pairs:
        data[field] = "1"
    data[form.pairs[0][0]] = "15"
    response = client.post(f"/en/siting/{world.project.code}/ahp/", data)
    assert response.status_code == 200 and "judgements run from 1/9 to 9" in response.content.decode()
    assert not Expert.objects.filter(name="Expert D").exists()
    data[form.pairs[0][0]] = "1/3"
    assert client.post(f"/en/siting/{world.project.code}/ahp/", data).status_code == 302
    saved = Expert.objects.get(name="Expert D")
    assert saved.judgements[form.pairs[0][1]] == pytest.approx(1 / 3)


def test_a_layer_uploaded_through_the_page_and_a_bad_one(world):
    client = _client(world.officer)
    url = f"/en/siting/{world.project.code}/"
    good = io.BytesIO(demo.geojson(demo.vectors()["airports"]))
    good.name = "airport.geojson"
    assert client.post(url, {"action": "layer", "layer-topic": "airports", "layer-file": good}).status_code == 302
    bad = io.BytesIO(
        b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [19, 45]}}]}'
    )
    bad.name = "far.geojson"
    response = client.post(url, {"action": "layer", "layer-topic": "airports", "layer-file": bad})
    assert response.status_code == 200 and "outside the study area" in response.content.decode()
    assert world.project.layers.get(topic="airports").name == "airport.geojson"


def test_an_editor_runs_and_hands_off_through_the_pages(world):
    client = _client(world.coordinator)
    response = client.post(f"/en/siting/{world.project.code}/", {"action": "run"})
    assert response.status_code == 302
    number = world.project.runs.order_by("-number").first().number
    assert response["Location"].endswith(f"/runs/{number}/")
    response = client.post(f"/en/siting/{world.project.code}/runs/{number}/", {"rank": 1})
    assert response.status_code == 302 and "/cooperation/facilities/" in response["Location"]


def test_the_projects_criteria_set_is_editable_and_versioned(world):
    client = _client(world.coordinator)
    criteria_set = world.project.criteria_set
    version = criteria_set.version
    url = f"/en/siting/{world.project.code}/"
    data = {
        "action": "criteria-set",
        "set-name": "Qom rules",
        "set-legal_status": "rule",
        "set-source": "Provincial decision (demo)",
    }
    assert client.post(url, data).status_code == 302
    criteria_set.refresh_from_db()
    assert (criteria_set.name, criteria_set.legal_status, criteria_set.version) == ("Qom rules", "rule", version + 1)
    response = client.post(url, {**data, "set-name": " "})
    assert response.status_code == 200
    criteria_set.refresh_from_db()
    assert criteria_set.version == version + 1
    assert _client(world.viewer).post(url, data).status_code in (403, 404)


def test_persian_siting_pages_separate_their_parts_without_a_middle_dot(world):
    """The project, the AHP page with an expert's judgements and the run with its map's
    labels: no middle dot in Persian (read there as a zero), the Persian comma instead; the
    AHP matrix marks the cells it does not ask for with a dash and writes its diagonal's
    one in Persian; English keeps the dot."""
    from tests.marks import middle_dots

    code = world.project.code
    for path in (f"/siting/{code}/", f"/siting/{code}/ahp/", f"/siting/{code}/runs/{world.run.number}/"):
        response = _client(world.coordinator).get(f"/fa{path}")
        assert response.status_code == 200, path
        page = response.content.decode()
        assert not middle_dots(page), (path, middle_dots(page))
        assert "، " in page, path
    run = _client(world.coordinator).get(f"/fa/siting/{code}/runs/{world.run.number}/").content.decode()
    assert 'data-separator="، "' in run  # the map's tooltips join a site's figures with it
    ahp = _client(world.coordinator).get(f"/fa/siting/{code}/ahp/").content.decode()
    assert ">۱</td>" in ahp and ">1</td>" not in ahp
    assert middle_dots(_client(world.coordinator).get(f"/en/siting/{code}/").content.decode())
