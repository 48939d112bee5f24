"""Protection zones measured on the municipalities' boundaries, and the inventory of
resources and competences with its gaps; bad files refused with their place, nothing changed."""

import io
import json
import math

import pytest
from django.test import Client
from shapely.geometry import Point, shape

from municipium.cooperation import services, sharing
from municipium.cooperation.models import InventoryLine, Zone
from municipium.cooperation.services import CooperationError
from municipium.lib import zones as geo
from tests import factories as f

from .world import build

pytestmark = pytest.mark.django_db

# Two neighbouring square municipalities on the 21st meridian east, near 43.5° N (Rasina).
WEST = {"type": "Polygon", "coordinates": [[[20.9, 43.5], [21.0, 43.5], [21.0, 43.6], [20.9, 43.6], [20.9, 43.5]]]}
EAST = {"type": "Polygon", "coordinates": [[[21.0, 43.5], [21.1, 43.5], [21.1, 43.6], [21.0, 43.6], [21.0, 43.5]]]}


def _client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_a_buffer_around_an_intake_on_the_border_is_shared_half_and_half():
    zone = geo.buffered(Point(21.0, 43.55), 2000)
    rows = {r.code: r for r in geo.shares(zone, {"W": WEST, "E": EAST})}
    total = sum(r.area_km2 for r in rows.values())
    assert total == pytest.approx(math.pi * 2**2, rel=1e-3)  # a circle of 2 km, measured equal-area
    assert rows["W"].share_of_zone == pytest.approx(0.5, abs=0.01)
    assert rows["E"].share_of_zone == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "Point", "coordinates": [21, 43.5]}, "must be an area"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[2100000, 4350000], [2100100, 4350000], [2100100, 4350100], [2100000, 4350000]]],
            },
            "longitude/latitude",
        ),
        ({"type": "FeatureCollection", "features": []}, "no geometry"),
        ([1, 2, 3], "not a GeoJSON object"),
    ],
)
def test_bad_zone_files_are_refused_and_nothing_is_stored(data, message):
    w = build()
    with pytest.raises(CooperationError) as caught:
        services.save_zone(w.coordinator, Zone(agreement=w.agreement, source="Ćelije", level="I"), geojson=data)
    assert message in caught.value.message
    assert not Zone.objects.exists()


def test_zones_drive_the_cost_split_and_draw_on_the_agreement_page():
    w = build()
    w.units["RS-70343"].boundary = WEST
    w.units["RS-70343"].save()
    w.units["RS-70262"].boundary = EAST
    w.units["RS-70262"].save()
    outline = {
        "type": "Polygon",
        "coordinates": [[[20.98, 43.54], [21.03, 43.54], [21.03, 43.56], [20.98, 43.56], [20.98, 43.54]]],
    }
    services.save_zone(
        w.coordinator, Zone(agreement=w.agreement, source="Ćelije", level="II"), geojson=outline, distance=500
    )
    zone = Zone.objects.get()
    assert shape(zone.geometry).area > shape(outline).area  # the buffer grew the outline
    w.plant.agreement = w.agreement
    w.plant.fixed_driver = "zone_area"
    w.plant.save()
    result = sharing.allocate(w.plant)
    brus = next(p for p in result.participants if p.unit.code == "RS-70343")
    area, source = result.drivers[brus.pk]["zone_area"]
    assert source == "zones" and area > 0
    page = _client(w.coordinator).get(f"/en/cooperation/agreements/{w.agreement.code}/").content.decode()
    assert 'class="map-zone map-zone-II"' in page and "zone-shares" in page


def test_a_zone_is_drawn_through_the_page_from_an_uploaded_geojson():
    w = build()
    upload = io.BytesIO(json.dumps({"type": "Feature", "geometry": WEST}).encode())
    upload.name = "zone.geojson"
    response = _client(w.coordinator).post(
        f"/en/cooperation/agreements/{w.agreement.code}/zones/", {"source": "Ćelije", "level": "III", "file": upload}
    )
    assert response.status_code == 302 and Zone.objects.get().level == "III"
    bad = io.BytesIO(b"\xff\xfe not json")
    bad.name = "zone.geojson"
    _client(w.coordinator).post(
        f"/en/cooperation/agreements/{w.agreement.code}/zones/", {"source": "Ćelije", "level": "I", "file": bad}
    )
    assert Zone.objects.count() == 1
    assert (
        _client(w.outsider)
        .post(f"/en/cooperation/agreements/{w.agreement.code}/zones/", {"source": "x", "level": "I"})
        .status_code
        == 404
    )


INVENTORY = (
    "unit;actor;category;theme;item;measure;have;need\n"
    "RS-70343;JKP Brus;staff;wastewater;Process engineer;FTE;0;1\n"
    "RS-70670;JKP Vodovod Kruševac;staff;wastewater;Process engineer;FTE;3;2\n"
    "RS-70262;Opština Blace;equipment;water;Leak detector;pcs;0;1\n"
)


def test_the_inventory_loads_all_or_nothing_and_shows_where_pooling_pays():
    w = build()
    bad = (
        INVENTORY + "RS-99999;Nobody;staff;x;y;FTE;1;1\nRS-70343;JKP Brus;money;x;y;;1;1\nRS-70343;A;staff;x;z;;-2;1\n"
    )
    with pytest.raises(CooperationError) as caught:
        services.import_inventory(w.coordinator, w.group, bad.encode(), "inventory.csv")
    text = caught.value.message
    assert "row 5, column unit" in text and "row 6, column category" in text and "row 7, column have" in text
    assert not InventoryLine.objects.exists()
    assert services.import_inventory(w.coordinator, w.group, INVENTORY.encode(), "inventory.csv") == 3
    gaps = {(g["theme"], g["category"]): g for g in services.gaps(w.group)}
    wastewater = gaps[("wastewater", "Staff (FTE)")]
    assert wastewater["pooling"] and wastewater["gap"] == 0
    assert gaps[("water", "Equipment")]["gap"] == 1 and not gaps[("water", "Equipment")]["pooling"]
    # loading again updates, never duplicates
    services.import_inventory(w.coordinator, w.group, INVENTORY.encode(), "inventory.csv")
    assert InventoryLine.objects.count() == 3


def test_the_inventory_page_is_for_the_cooperation_and_officers_enter_their_own_unit():
    w = build()
    url = f"/en/cooperation/groups/{w.group.code}/inventory/"
    assert _client(w.outsider).get(url).status_code == 404
    officer = _client(w.brus_officer)
    page = officer.get(url).content.decode()
    assert "Record a line" in page and "Template to fill in" in page
    data = {
        "action": "line",
        "line-unit": w.units["RS-70343"].pk,
        "line-actor": "JKP Brus",
        "line-category": "data",
        "line-theme": "water",
        "line-item": "GIS of the network",
        "line-have": "0",
        "line-need": "1",
    }
    assert officer.post(url, data).status_code == 302
    other = {**data, "line-unit": w.units["RS-70262"].pk}
    officer.post(url, other)
    assert list(InventoryLine.objects.values_list("unit__code", flat=True)) == ["RS-70343"]
    csv = officer.get(url + "?format=csv").content.decode("utf-8-sig")
    assert "GIS of the network" in csv


def test_persian_cooperation_pages_separate_their_parts_without_a_middle_dot():
    """An agreement with a zone, the shared plant with its cost split and decision package,
    the inventory and the agreement's form (its indicators and parties listed by code and
    name): no middle dot in Persian (read there as a zero), the Persian comma instead;
    English keeps the dot."""
    from tests.marks import middle_dots

    w = build()
    f.indicator("water_nrw", "water_nrw")
    w.units["RS-70343"].boundary = WEST
    w.units["RS-70343"].save()
    outline = {"type": "Polygon", "coordinates": [[[20.95, 43.54], [20.99, 43.54], [20.99, 43.56], [20.95, 43.54]]]}
    services.save_zone(
        w.coordinator, Zone(agreement=w.agreement, source="Ćelije", level="II"), geojson=outline, distance=500
    )
    w.plant.agreement = w.agreement
    w.plant.save()
    services.import_inventory(w.coordinator, w.group, INVENTORY.encode(), "inventory.csv")
    agreement = f"/cooperation/agreements/{w.agreement.code}/"
    facility = f"/cooperation/facilities/{w.plant.code}/"
    for path in (
        agreement,
        f"{agreement}edit/",
        facility,
        f"{facility}package/",
        f"/cooperation/groups/{w.group.code}/inventory/",
    ):
        response = _client(w.coordinator).get(f"/fa{path}")
        assert response.status_code == 200, path
        page = response.content.decode()
        assert not middle_dots(page), (path, middle_dots(page))
        assert "، " in page, path
    assert middle_dots(_client(w.coordinator).get(f"/en{facility}").content.decode())
