"""Loading and saving units and groups (YAML, CSV) and attaching boundaries (GeoJSON)."""

import json
import math

import pytest

from municipium.audit.models import AuditEvent
from municipium.lib.geo import signed_area
from municipium.places.files import attach_boundaries, dump_units, load_units
from municipium.places.models import Group, Membership, Succession, Unit
from tests import factories as f

pytestmark = pytest.mark.django_db

UNITS = """\
units:
  - {code: PL1438011, kind: municipality, name: {pl: Żyrardów, en: Żyrardów}, parent: PL14, valid_from: 1990-01-01}
  - {code: PL14, kind: region, name: {pl: Mazowieckie}}
  - code: PL0000001
    kind: municipality
    name: {pl: Gmina dawna}
    valid_to: 2018-12-31
    successors: [{code: PL1438011, kind: merger, date: 2019-01-01}]
groups:
  - code: mazovia_water
    kind: exchange
    name: {en: Mazovian water utilities, pl: Wodociągi Mazowsza}
    members: [PL1438011, {unit: PL0000001, valid_to: 2018-12-31}]
"""


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_units_successions_and_groups_load_from_yaml_parents_first(tmp_path):
    report = load_units(write(tmp_path, "units.yaml", UNITS))
    assert report.ok, [str(p) for p in report.problems]
    assert report.created == 3 + 1 + 1
    zyrardow = Unit.objects.get(code="PL1438011")
    assert (zyrardow.parent.code, zyrardow.name["pl"], str(zyrardow.valid_from)) == ("PL14", "Żyrardów", "1990-01-01")
    assert Succession.objects.get().successor == zyrardow
    members = Membership.objects.filter(group__code="mazovia_water").order_by("unit__code")
    assert [(m.unit.code, str(m.valid_to)) for m in members] == [("PL0000001", "2018-12-31"), ("PL1438011", "None")]
    assert AuditEvent.objects.filter(action="create", model="places.unit").count() == 3


def test_loading_the_same_units_twice_changes_nothing(tmp_path):
    path = write(tmp_path, "units.yaml", UNITS)
    load_units(path)
    events = AuditEvent.objects.count()
    again = load_units(path)
    assert (again.created, again.updated) == (0, 0) and again.unchanged == 5
    assert AuditEvent.objects.count() == events


def test_a_changed_name_and_membership_are_updated_and_audited(tmp_path):
    load_units(write(tmp_path, "units.yaml", UNITS))
    changed = UNITS.replace("{pl: Mazowieckie}", "{pl: Województwo mazowieckie}").replace(
        "members: [PL1438011, ", "members: ["
    )
    report = load_units(write(tmp_path, "units.yaml", changed))
    assert report.updated == 2
    event = AuditEvent.objects.get(action="update", model="places.unit")
    assert (event.before["name"], event.after["name"]) == ({"pl": "Mazowieckie"}, {"pl": "Województwo mazowieckie"})
    assert list(Group.objects.get().memberships.values_list("unit__code", flat=True)) == ["PL0000001"]


def test_every_mistake_in_a_units_file_is_located_and_nothing_is_written(tmp_path):
    bad = (
        UNITS.replace("parent: PL14,", "parent: PL15,")
        .replace("kind: region", "kind: province")
        .replace("valid_to: 2018-12-31\n", "valid_to: 31.12.2018\n")
        .replace("{code: PL1438011, kind: merger", "{code: PL9, kind: merger")
        .replace("kind: exchange", "kind: club")
        .replace("members: [PL1438011,", "members: [PL7,")
    )
    report = load_units(write(tmp_path, "units.yaml", bad))
    assert [str(p) for p in report.problems] == [
        "units.yaml: units[1].kind: unknown kind 'province' (expected: one of country, region, district, "
        "municipality, utility, other)",
        "units.yaml: units[2].valid_to: '31.12.2018' is not a date (expected: a date such as 2024-12-31)",
        "units.yaml: units[0].parent: unknown unit 'PL15' (expected: the code of a unit in this file or already loaded)",
        "units.yaml: units[2].successors[0].code: unknown unit 'PL9' (expected: the code of a unit in this file or "
        "already loaded)",
        "units.yaml: groups[0].kind: unknown kind 'club' (expected: one of peer, exchange, cooperation, region)",
        "units.yaml: groups[0].members[0].unit: unknown unit 'PL7' (expected: the code of a unit in this file or "
        "already loaded)",
    ]
    assert not Unit.objects.exists() and not AuditEvent.objects.exists()


def test_units_that_are_each_others_parents_are_refused(tmp_path):
    text = "units:\n  - {code: A, kind: region, name: A, parent: B}\n  - {code: B, kind: region, name: B, parent: A}\n"
    report = load_units(write(tmp_path, "loop.yaml", text))
    assert [p.path for p in report.problems] == ["units[0].parent", "units[1].parent"]
    assert "A → B → A" in report.problems[0].message


def test_a_polish_cp1250_units_csv_with_semicolons_loads(tmp_path):
    text = (
        "code;kind;parent;valid_from;valid_to;name_en;name_pl;name_sr;name_bg;name_lt;name_fa\r\n"
        "PL14;region;;;;Masovia;Mazowieckie;;;;\r\n"
        "PL1438011;municipality;PL14;1990-01-01;;Żyrardów;Żyrardów;;;;\r\n"
        "PL1465011;municipality;PL14;;;Warsaw;Warszawa;Варшава;;;\r\n"
    )
    report = load_units(write(tmp_path, "gminy.csv", text.replace("Варшава", ""), "cp1250"))
    assert report.ok, [str(p) for p in report.problems]
    assert Unit.objects.get(code="PL1438011").name == {"en": "Żyrardów", "pl": "Żyrardów"}
    assert Unit.objects.get(code="PL1465011").parent.code == "PL14"


def test_a_bad_row_in_a_units_csv_names_row_and_column(tmp_path):
    text = "code,kind,parent,valid_from,valid_to,name_en\nPL14,region,,,,Masovia\nPL1,town,PL14,2020-13-01,,X\n"
    report = load_units(write(tmp_path, "units.csv", text))
    assert [p.path for p in report.problems] == ["row 3, column 'kind'", "row 3, column 'valid_from'"]


def test_a_units_csv_with_a_plain_name_column_is_refused_once_naming_the_columns(tmp_path):
    rows = "".join(f"SE{n:04d},municipality,,,,Kommun {n}\n" for n in range(312))
    report = load_units(write(tmp_path, "kommuner.csv", "code,kind,parent,valid_from,valid_to,name\n" + rows))
    assert len(report.problems) == 1  # once for the file, not once per row
    problem = report.problems[0]
    assert problem.path == "row 1"
    assert "no name column" in problem.message and "name_en" in problem.message
    assert "the columns found are code, kind, parent, valid_from, valid_to, name" in problem.message
    assert not Unit.objects.filter(code__startswith="SE").exists()


@pytest.mark.parametrize("fmt, name", [("yaml", "saved.yaml"), ("csv", "saved.csv")])
def test_saved_units_load_back_unchanged(tmp_path, fmt, name):
    load_units(write(tmp_path, "units.yaml", UNITS))
    report = load_units(write(tmp_path, name, dump_units(fmt)))
    assert report.ok, [str(p) for p in report.problems]
    assert (report.created, report.updated) == (0, 0)


def circle(cx, cy, radius, points, clockwise=False):
    ring = []
    for i in range(points):
        angle = 2 * math.pi * i / points * (-1 if clockwise else 1)
        # A wobbly edge, as real borders are, so simplification has something to remove.
        r = radius * (1 + 0.02 * math.sin(angle * 40))
        ring.append([cx + r * math.cos(angle), cy + r * math.sin(angle)])
    return ring + [ring[0]]


def feature(code, rings, kind="Polygon"):
    return {
        "type": "Feature",
        "properties": {"JPT_KOD_JE": code, "name": f"gmina {code}"},
        "geometry": {"type": kind, "coordinates": rings},
    }


def test_boundaries_are_rewound_clockwise_with_counter_clockwise_holes(tmp_path):
    f.unit("PL1438011")
    outer, hole = circle(20.4, 52.0, 0.05, 200), circle(20.4, 52.0, 0.01, 50, clockwise=True)
    path = write(
        tmp_path,
        "gminy.geojson",
        json.dumps({"type": "FeatureCollection", "features": [feature("1438011", [outer, hole])]}),
    )
    assert signed_area(outer) > 0  # RFC 7946: exteriors counter-clockwise
    report = attach_boundaries(path, "JPT_KOD_JE", code_prefix="PL")
    assert report.ok and report.updated == 1
    boundary = Unit.objects.get().boundary
    stored_outer, stored_hole = boundary["coordinates"]
    assert signed_area(stored_outer) < 0 < signed_area(stored_hole)
    assert stored_outer[0] == stored_outer[-1]


def test_a_country_of_290_municipalities_is_simplified_below_one_megabyte(tmp_path):
    features = []
    for i in range(290):
        f.unit(f"PL{i:07d}")
        features.append(feature(f"{i:07d}", [circle(14 + (i % 17) * 0.6, 49 + (i // 17) * 0.35, 0.15, 1500)]))
    path = write(tmp_path, "country.geojson", json.dumps({"type": "FeatureCollection", "features": features}))
    assert path.stat().st_size > 5_000_000
    # No key given: the property whose values match unit codes is found.
    report = load_units(path, code_prefix="PL")
    assert report.ok and report.updated == 290
    size = sum(len(json.dumps(u.boundary, separators=(",", ":"))) for u in Unit.objects.all())
    assert 100_000 < size < 1_000_000
    assert all(signed_area(u.boundary["coordinates"][0]) < 0 for u in Unit.objects.all())


def test_boundaries_for_unknown_units_or_without_polygons_are_refused(tmp_path):
    f.unit("PL1")
    features = [
        feature("1", [circle(20, 52, 0.1, 10)]),
        feature("2", [circle(21, 52, 0.1, 10)]),
        {"type": "Feature", "properties": {"JPT_KOD_JE": "1"}, "geometry": {"type": "Point", "coordinates": [20, 52]}},
    ]
    path = write(tmp_path, "bad.geojson", json.dumps({"type": "FeatureCollection", "features": features}))
    report = attach_boundaries(path, "JPT_KOD_JE", "PL")
    assert [p.path for p in report.problems] == ["features[1].properties.JPT_KOD_JE", "features[2].geometry"]
    assert Unit.objects.get().boundary is None
