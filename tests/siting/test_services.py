"""Siting projects through their services: the demo run's real numbers, the AHP warnings, the
criteria versions, the hand-off to cost sharing, and uploads that are refused at the place
they go wrong with nothing stored (bad and hostile files)."""

import io
import json
import math
import zipfile

import numpy as np
import pyogrio
import pytest
from affine import Affine
from pyproj import Geod
from rasterio.io import MemoryFile
from shapely.geometry import Point, box, mapping

from municipium.audit.models import AuditEvent
from municipium.cooperation.models import Facility, Participant
from municipium.demo import siting as demo
from municipium.lib.siting import layers as layerlib
from municipium.lib.siting import rank
from municipium.siting import access, services, starters
from municipium.siting.models import Criterion, Expert, Layer
from municipium.siting.services import SitingError

pytestmark = pytest.mark.django_db


def test_the_run_keeps_the_need_computed_by_hand(world):
    need = world.run.inputs["need"]
    people = 1_216_600 * ((1.014**20 - 1) / 0.014)  # sum of P0 (1 + r)^t, t = 0..19
    assert need["tonnes"] == pytest.approx(people * 0.85 * 365 / 1000)
    waste = need["tonnes"] / 0.8
    assert need["area_m2"] == pytest.approx(waste * 1.2 / 15 / 0.75)
    assert need["area_m2"] == pytest.approx(rank.required_area(1_216_600, 0.014, 20, 0.85, 0.8, 15, 0.2, 0.25).area_m2)


def test_the_run_ranks_candidates_at_least_as_large_as_the_need(world):
    results = world.run.results
    candidates = results["candidates"]
    assert candidates, "the demo finds at least one site"
    assert [c["rank"] for c in candidates] == sorted(c["rank"] for c in candidates)
    for c in candidates:
        assert c["area_m2"] >= world.run.inputs["need"]["area_m2"]
        assert c["mean_suitability"] >= world.run.inputs["threshold"]
        assert 0 <= c["closeness"] <= 1
        assert c["geometry"]["type"] in ("Polygon", "MultiPolygon")
    # The haul to Qom is the distance between the centroids, as a geodesic check within 0.5 %.
    best = candidates[0]
    qom_lon, qom_lat, _pop = demo.MEMBERS["IR-QOM-01"]
    _a, _b, metres = Geod(ellps="WGS84").inv(best["lon"], best["lat"], qom_lon, qom_lat)
    assert best["haul_by_member"]["IR-QOM-01"] == pytest.approx(metres / 1000, rel=0.005)
    tonnes = {code: pop for code, (_x, _y, pop) in demo.MEMBERS.items()}
    weighted = sum(best["haul_by_member"][c] * t for c, t in tonnes.items()) / sum(tonnes.values())
    assert best["haul_km"] == pytest.approx(weighted)
    # Classes add up to the allowed area; exclusions name every constraint.
    allowed = results["inside_m2"] - results["excluded_m2"]
    assert sum(c["area_m2"] for c in results["classes"]) == pytest.approx(allowed)
    assert {e["code"] for e in results["exclusions"]} == {
        c.code for c in world.project.criteria_set.criteria.filter(kind="constraint")
    }
    stability = results["stability"]
    assert stability["draws"] == 200
    assert len(stability["one_at_a_time"]) == 2 * 6
    assert all(0 <= s <= 1 for s in stability["best_share"])
    assert (
        world.run.png.startswith(b"\x89PNG")
        if isinstance(world.run.png, bytes)
        else bytes(world.run.png)[:4] == b"\x89PNG"
    )
    assert bytes(world.run.geotiff)[:4] == b"II*\x00"


def test_the_airport_exclusion_is_the_disc_of_its_rule(world):
    # The rule's distance (3 km in the Iranian guidance the demo adopts) around one point on
    # 1,500 m cells: the cell centres within the disc, counted by hand from the grid's origin.
    buffer = next(c["buffer_m"] for c in world.run.inputs["criteria"] if c["code"] == "airports")
    assert buffer == 3000
    grid = world.run.results["grid"]
    from municipium.lib.siting.grid import Grid

    g = Grid(grid["epsg"], grid["cell"], grid["west"], grid["north"], grid["width"], grid["height"])
    x, y = g.forward()(50.84, 34.56)
    expected = sum(
        1
        for r in range(g.height)
        for c in range(g.width)
        if math.hypot(g.centre(r, c)[0] - x, g.centre(r, c)[1] - y) < buffer
    )
    airport = next(e for e in world.run.results["exclusions"] if e["code"] == "airports")
    assert airport["cells"] == expected and expected >= 9


def test_ahp_flags_the_inconsistent_expert_and_names_the_judgements(world):
    weights = services.weighting(world.project)
    by_name = {e["name"]: e for e in weights["experts"]}
    a = by_name["Expert A (demo, hydrogeologist)"]
    assert a["cr"] >= 0.10 and not a["consistent"] and len(a["responsible"]) == 3
    assert by_name["Expert B (demo, municipal engineer)"]["consistent"]
    assert weights["group"]["cr"] < 0.10
    assert sum(weights["weights"].values()) == pytest.approx(1.0)
    # The group matrix is the cell-wise geometric mean of the three.
    first = [
        float(services.parse_judgement(v))
        for v in [
            1,
            1 / 2,
            2,
        ]
    ]
    assert weights["group"]["matrix"][0][1] == pytest.approx(np.prod(first) ** (1 / 3))


def test_judgements_are_checked_and_located(world):
    expert = Expert(project=world.project, name="Bad", judgements=demo._pairs([1] * 15))
    expert.judgements["far-from-settlements|near-roads"] = "12"
    with pytest.raises(SitingError) as caught:
        services.save_expert(world.coordinator, expert)
    assert "Distance from settlements" in caught.value.message and "Nearness to roads" in caught.value.message
    expert.judgements["far-from-settlements|near-roads"] = "three"
    with pytest.raises(SitingError):
        services.save_expert(world.coordinator, expert)
    del expert.judgements["far-from-settlements|near-roads"]
    with pytest.raises(SitingError) as caught:
        services.save_expert(world.coordinator, expert)
    assert "has not compared" in caught.value.message
    assert not Expert.objects.filter(name="Bad").exists()
    assert services.parse_judgement("1/7") == pytest.approx(1 / 7)


def test_the_iranian_guidance_set_cites_its_source_for_every_value(world):
    iranian = next(s for s in starters.ensure() if s.name == "Sanitary landfill: Iranian guidance")
    assert iranian.legal_status == "guideline" and world.project.criteria_set.based_on == iranian
    rows = {c.code: c for c in iranian.criteria.all()}
    literature = {c.code: c for c in starters.ensure()[0].criteria.all()}
    assert set(rows) == set(literature)  # the same criteria: the experts' judgements apply to both
    expected = {"rivers": 100, "wells": 400, "roads": 30, "airports": 3000, "protected": 0, "flood": 0}
    for code, metres in expected.items():
        assert rows[code].buffer_m == metres
        assert (
            "Management and Planning Organization" in rows[code].citation
            or "Department of Environment" in rows[code].citation
        )
    for code in set(rows) - set(expected):
        assert rows[code].citation == literature[code].citation  # "Literature default ..." or the US rule, as there


def test_criteria_versions_and_starters_stay_unchanged(world):
    criteria_set = world.project.criteria_set
    version = criteria_set.version
    steep = criteria_set.criteria.get(code="steep")
    steep.high = 15
    services.save_criterion(world.coordinator, steep)
    criteria_set.refresh_from_db()
    assert criteria_set.version == version + 1
    assert world.run.inputs["criteria_set"]["version"] == version  # the run kept its own copy
    starter = starters.ensure()[0]
    assert starter.criteria.get(code="steep").high == 20
    with pytest.raises(SitingError):
        services.save_criterion(world.coordinator, starter.criteria.get(code="steep"))
    bad = criteria_set.criteria.get(code="gentle-slope")
    bad.a, bad.b = 20, 5
    with pytest.raises(SitingError) as caught:
        services.save_criterion(world.coordinator, bad)
    assert caught.value.field == "b"
    slope = Criterion(criteria_set=criteria_set, code="x", name="x", kind="factor", measure="slope", topic="roads")
    with pytest.raises(SitingError):
        services.save_criterion(world.coordinator, slope)
    steep.high = 20
    services.save_criterion(world.coordinator, steep)


def test_roles(world):
    p = world.project
    assert access.can_edit(world.coordinator, p) and access.can_edit(world.officer, p)
    assert access.can_read(world.viewer, p) and not access.can_edit(world.viewer, p)
    assert not access.can_read(world.outsider, p)
    assert list(access.readable(world.outsider)) == []
    assert p in access.readable(world.viewer)


def test_a_joint_site_hands_its_haul_distances_to_cost_sharing(world):
    facility = services.hand_off(world.coordinator, world.run, 1)
    best = world.run.results["candidates"][0]
    assert facility.kind == Facility.Kind.LANDFILL and facility.group == world.group
    drivers = {p.unit.code: p.drivers for p in Participant.objects.filter(facility=facility).select_related("unit")}
    assert set(drivers) == set(demo.MEMBERS)
    for code, km in best["haul_by_member"].items():
        assert drivers[code]["haul_km"] == pytest.approx(km, abs=0.01)
    tonnes_year = world.run.inputs["need"]["tonnes"] / 20
    assert drivers["IR-QOM-01"]["tonnes"] == pytest.approx(tonnes_year * 1_201_000 / 1_216_600, abs=0.1)
    # The costs are entered in cost sharing; the hand-off adds a scenario in which the
    # variable cost follows the haul (tonnes × km to the site).
    from municipium.cooperation import services as cooperation
    from municipium.cooperation import sharing

    facility.variable_opex = 1_000_000
    cooperation.save_facility(world.coordinator, facility)
    comparison = sharing.compare(facility, "two_part")
    assert [v.scenario.variable_driver for v in comparison.variants[1:]] == ["tonne_km"]
    tonne_km = {c: d["tonnes"] * d["haul_km"] for c, d in drivers.items()}
    for participant, (by_tonnes, by_haul) in comparison.rows():
        code = participant.unit.code
        assert by_tonnes == pytest.approx(
            1_000_000 * drivers[code]["tonnes"] / sum(d["tonnes"] for d in drivers.values())
        )
        assert by_haul == pytest.approx(1_000_000 * tonne_km[code] / sum(tonne_km.values()))
    again = services.hand_off(world.coordinator, world.run, 1)
    assert again.pk == facility.pk and Participant.objects.filter(facility=facility).count() == 4
    assert facility.scenarios.count() == 1
    with pytest.raises(SitingError):
        services.hand_off(world.coordinator, world.run, 99)


# --- uploads -------------------------------------------------------------------------


def _fc(*geometries, crs=None) -> bytes:
    data = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": g} for g in geometries],
    }
    if crs:
        data["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(data).encode()


def _refused(world, topic, data, name, *fragments):
    layers_before = list(Layer.objects.filter(project=world.project).values_list("pk", "name", "size"))
    events = AuditEvent.objects.count()
    with pytest.raises(SitingError) as caught:
        services.upload_layer(world.coordinator, world.project, topic, data, name)
    for fragment in fragments:
        assert fragment in caught.value.message, caught.value.message
    assert list(Layer.objects.filter(project=world.project).values_list("pk", "name", "size")) == layers_before
    assert AuditEvent.objects.count() == events
    return caught.value


def test_a_self_intersecting_polygon_is_refused_at_its_feature(world):
    good = mapping(box(50.9, 34.5, 50.95, 34.55))
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[50.9, 34.5], [51.0, 34.6], [51.0, 34.5], [50.9, 34.6], [50.9, 34.5]]],
    }
    _refused(world, "protected", _fc(good, bowtie), "zones.geojson", "feature 2", "Self-intersection")


def test_layers_outside_the_area_or_without_crs_are_refused(world):
    _refused(world, "roads", _fc(mapping(Point(19.0, 45.0))), "serbia.geojson", "outside the study area")
    _refused(world, "roads", b"not json at all", "roads.geojson", "roads.geojson")
    _refused(world, "roads", b"%PDF-1.4", "roads.pdf", "is not GeoJSON")
    _refused(world, "roads", _fc(mapping(Point(500000, 3830000))), "projected-without-crs.geojson", "outside the earth")


def _shapefile_zip(crs="EPSG:32639", extra=None, drop=None) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roads.shp"
        x, y = 480_000, 3_832_000
        geometry = np.array(
            [Point(x, y).buffer(10).exterior.wkb, Point(x + 500, y).buffer(10).exterior.wkb], dtype=object
        )
        pyogrio.raw.write(
            str(path),
            geometry,
            [np.array([1, 2])],
            ["id"],
            geometry_type="LineString",
            crs=crs,
            driver="ESRI Shapefile",
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for part in sorted(Path(folder).iterdir()):
                if drop and part.suffix == drop:
                    continue
                archive.write(part, part.name)
            for name, data in (extra or {}).items():
                archive.writestr(name, data)
        return buffer.getvalue()


def test_a_zipped_shapefile_in_utm_is_read_and_reprojected(world):
    layer = services.upload_layer(world.coordinator, world.project, "landuse", _shapefile_zip(), "roads.zip")
    assert layer.kind == "shapefile" and layer.features == 2 and "32639" in layer.crs
    west, south, east, north = layer.bounds
    assert 50.7 < west < 50.8 and 34.6 < south < 34.7  # 480 km E, 3832 km N in zone 39N
    services.delete_layer(world.coordinator, layer)


def test_hostile_zips_are_refused_before_gdal_reads_them(world, monkeypatch):
    _refused(world, "roads", _shapefile_zip(drop=".prj"), "noprj.zip", ".prj")
    _refused(world, "roads", _shapefile_zip(extra={"../../etc/evil.txt": b"x"}), "slip.zip", "outside it")
    monkeypatch.setattr(layerlib, "MAX_UNPACKED", 1000)
    _refused(world, "roads", _shapefile_zip(extra={"zeros.bin": b"\0" * 5000}), "bomb.zip", "unpacks to more than")
    monkeypatch.undo()
    _refused(world, "roads", b"PK\x03\x04garbage", "broken.zip", "not a readable zip")
    _refused(world, "roads", b"\0" * (layerlib.MAX_BYTES + 1), "huge.geojson", "larger than")


def test_a_geopackage_is_read(world, tmp_path):
    path = tmp_path / "wells.gpkg"
    geometry = np.array([Point(50.9, 34.5).wkb, Point(50.95, 34.52).wkb], dtype=object)
    pyogrio.raw.write(
        str(path), geometry, [np.array([1, 2])], ["id"], geometry_type="Point", crs="EPSG:4326", driver="GPKG"
    )
    layer = services.upload_layer(world.coordinator, world.project, "landuse", path.read_bytes(), "wells.gpkg")
    assert layer.kind == "gpkg" and layer.features == 2
    services.delete_layer(world.coordinator, layer)


def _tiff(width=10, height=10, crs="EPSG:4326", transform=None) -> bytes:
    with MemoryFile() as memory:
        with memory.open(
            driver="GTiff",
            width=width,
            height=height,
            count=1,
            dtype="float32",
            crs=crs,
            transform=transform or Affine(0.01, 0, 50.8, 0, -0.01, 34.7),
        ) as target:
            target.write(np.ones((height, width), dtype=np.float32), 1)
        return bytes(memory.read())


def test_rasters_are_checked(world, monkeypatch):
    _refused(world, "elevation", _tiff(crs=None), "nocrs.tif", "no coordinate reference system")
    _refused(
        world,
        "elevation",
        _tiff(transform=Affine(0.01, 0, 10, 0, -0.01, 10)),
        "elsewhere.tif",
        "outside the study area",
    )
    _refused(world, "elevation", b"II*\x00 this is no tiff", "fake.tif", "cannot be read")
    monkeypatch.setattr(layerlib, "MAX_CELLS", 50)
    _refused(world, "elevation", _tiff(), "big.tif", "more than")


def test_a_raster_is_not_a_vector_layer_nor_the_reverse(world):
    _refused(world, "roads", _tiff(), "roads.tif", "raster")
    _refused(world, "elevation", _fc(mapping(Point(50.9, 34.6))), "dem.geojson", "is not a GeoTIFF")


def test_a_missing_layer_stops_the_run_with_its_name(world):
    layer = Layer.objects.get(project=world.project, topic="faults")
    saved = (layer.geometry, layer.name)
    layer.delete()
    runs = world.project.runs.count()
    with pytest.raises(SitingError) as caught:
        services.run(world.coordinator, world.project, draws=10)
    assert "Faults" in caught.value.message
    assert world.project.runs.count() == runs
    Layer.objects.create(
        project=world.project,
        topic="faults",
        name=saved[1],
        kind="geojson",
        crs="EPSG:4326",
        bounds=[0, 0, 0, 0],
        geometry=saved[0],
    )


def test_the_area_from_an_uploaded_polygon_and_bad_areas(world):
    world.project.refresh_from_db()
    with pytest.raises(SitingError):
        services.set_area(world.coordinator, world.project, data=_fc(mapping(Point(50.9, 34.6))), name="point.geojson")
    with pytest.raises(SitingError):
        services.set_area(world.coordinator, world.project, units=[world.units["IR-QOM-01"]])  # no boundary
    services.set_area(world.coordinator, world.project, data=demo.geojson([demo.AREA]), name="area.geojson")
    assert world.project.epsg == 32639


def test_every_change_is_audited(world):
    from municipium.siting.models import Layer as LayerModel
    from municipium.siting.models import Run as RunModel

    before = AuditEvent.objects.count()
    layer = services.upload_layer(
        world.officer, world.project, "landuse", _fc(mapping(box(50.9, 34.5, 50.95, 34.55))), "x.geojson"
    )
    made = services.run(world.officer, world.project, draws=20)
    services.delete_layer(world.officer, layer)
    events = list(AuditEvent.objects.order_by("pk")[before:])
    assert len(events) == 3
    assert [e.action for e in events] == ["create", "create", "delete"]
    assert [e.model for e in events] == [
        LayerModel._meta.label_lower,
        RunModel._meta.label_lower,
        LayerModel._meta.label_lower,
    ]
    assert events[0].after["name"] == "x.geojson" and events[2].before["name"] == "x.geojson"
    assert events[1].after["number"] == made.number and events[1].actor_id == world.officer.pk


def test_owa_with_risk_attitudes_brackets_wlc(world):
    """OWA's extremes bound the weighted linear combination: with alpha near 0 (optimistic, OR)
    every candidate scores at least its WLC mean, with a large alpha (AND) at most."""
    from municipium.lib.siting import pipeline

    inputs, _kept = services.inputs_for(world.project, draws=0)
    inputs.outlines = False
    base = pipeline.analyse(inputs)
    optimistic = pipeline.analyse(pipeline.Inputs(**{**vars(inputs), "method": "owa", "alpha": 0.01}))
    cautious = pipeline.analyse(pipeline.Inputs(**{**vars(inputs), "method": "owa", "alpha": 50}))
    allowed = ~base.excluded
    assert np.all(optimistic.suitability[allowed] >= base.suitability[allowed] - 1e-5)
    assert np.all(cautious.suitability[allowed] <= base.suitability[allowed] + 1e-5)
    assert np.nanmean(optimistic.suitability) > np.nanmean(base.suitability) > np.nanmean(cautious.suitability)


def test_the_area_from_the_members_boundaries(world):
    from municipium.siting.models import Member

    world.project.refresh_from_db()
    qom = world.units["IR-QOM-01"]
    qom.boundary = mapping(box(50.8, 34.55, 50.95, 34.7))
    qom.save()
    member = services.member_for(world.project, qom, 1_201_000)
    assert (member.lon, member.lat) == pytest.approx((50.875, 34.625))
    services.set_area(world.coordinator, world.project, units=[qom])
    assert world.project.area["type"] == "Polygon"
    assert Member.objects.filter(project=world.project).count() == 4
