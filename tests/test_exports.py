"""Exports of observations and of stored indicator values with group statistics."""

import csv
import io

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from municipium.benchmarks.exports import export_indicator_values, indicator_values_frame
from municipium.benchmarks.models import GroupStatistic
from municipium.lib.tabular import to_csv
from municipium.observations.exports import export_observations, observations_frame
from municipium.observations.imports import commit
from municipium.observations.models import Observation, Revision
from tests import derived
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def data():
    sex = f.breakdown("sex", ["F", "M"])
    produced = f.variable("water_produced", min_value=0, unit_of_measure={"en": "m³"})
    share = f.variable("nrw_share", area="water", min_value=0, max_value=100)
    people = f.variable("population_by_sex", area="population", breakdown=sex)
    a = f.unit("PL1438011", {"en": "Żyrardów"})
    b = f.unit("PL1465011", {"en": "Warszawa"})
    c = f.unit("LT13", {"en": "Šiauliai"})
    peers = f.group("mazovia", [a, b])
    f.write(
        [
            f.row(a, produced, "2023", 1234567.891, status="published"),
            f.row(a, produced, "2024", 0.1 + 0.2, status="draft"),
            f.row(b, produced, "2024", None, missing="confidential", status="submitted"),
            f.row(a, share, "2024", 12.5, status="approved"),
            f.row(a, people, "2024", 21000, breakdown="F"),
            f.row(a, people, "2024", 19000, breakdown="M"),
            f.row(c, produced, "2024", 1e20),
        ]
    )
    # Sources and comments with the characters that break naive CSV writers.
    Observation.objects.filter(unit=a, variable=produced, period__code="2024").update(
        source='Wodociągi "Żyrardów"; sp. z o.o.', comment="line one\nline two, with a comma"
    )
    return {"peers": peers, "a": a, "b": b, "produced": produced, "share": share}


def snapshot():
    return sorted(
        Observation.objects.values_list(
            "unit__code",
            "variable__code",
            "period__code",
            "breakdown",
            "value",
            "missing",
            "status",
            "source",
            "comment",
            "version",
        )
    )


@pytest.mark.parametrize(
    "options",
    [
        {"format": "csv"},
        {"format": "csv", "delimiter": ";", "decimal": ",", "bom": True},
        {"format": "csv", "delimiter": "\t", "decimal": ","},
        {"format": "xlsx"},
    ],
)
def test_exported_observations_import_back_unchanged(data, options):
    before, revisions = snapshot(), Revision.objects.count()
    content = export_observations(**options)
    report = commit(content, name=f"export.{options['format']}")
    assert report.ok, report.problems
    assert (report.rows, report.created, report.updated, report.unchanged) == (7, 0, 0, 7)
    assert snapshot() == before and Revision.objects.count() == revisions


def test_a_csv_for_polish_excel_has_a_byte_order_mark_semicolons_and_decimal_commas(data):
    content = export_observations(delimiter=";", decimal=",", bom=True, variables=["water_produced"], periods="2023")
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").splitlines()
    assert (
        lines[0]
        == "unit;unit_name;variable;variable_name;unit_of_measure;period;breakdown;value;missing;status;source;comment"
    )
    label = data["produced"].label
    assert lines[1] == f"PL1438011;Żyrardów;water_produced;{label};m³;2023;;1234567,891;;published;;"


def test_a_decimal_comma_with_a_comma_delimiter_is_refused(data):
    with pytest.raises(ValueError):
        to_csv(observations_frame(), delimiter=",", decimal=",")


def test_observation_filters_select_by_group_variable_area_period_and_status(data):
    def keys(**filters):
        return sorted(observations_frame(**filters).select("unit", "variable", "period", "breakdown").rows())

    assert all(u != "LT13" for u, *_ in keys(group="mazovia"))
    assert keys(units=[data["b"]]) == [("PL1465011", "water_produced", "2024", "")]
    assert keys(service_area="water", periods=["2023"]) == [("PL1438011", "water_produced", "2023", "")]
    assert keys(variables="population_by_sex") == [
        ("PL1438011", "population_by_sex", "2024", "F"),
        ("PL1438011", "population_by_sex", "2024", "M"),
    ]
    assert keys(status=["draft", "submitted"]) == [
        ("PL1438011", "water_produced", "2024", ""),
        ("PL1465011", "water_produced", "2024", ""),
    ]


def test_an_xlsx_export_keeps_numbers_as_numbers(data):
    book = CalamineWorkbook.from_filelike(io.BytesIO(export_observations("xlsx", periods="2023")))
    rows = book.get_sheet_by_name("Observations").to_python()
    assert rows[0][:8] == [
        "unit",
        "unit_name",
        "variable",
        "variable_name",
        "unit_of_measure",
        "period",
        "breakdown",
        "value",
    ]
    assert rows[1][7] == 1234567.891
    assert (
        observations_frame(periods="2024", units=["PL1438011"], variables=["water_produced"])["value"].item()
        == 0.1 + 0.2
    )


@pytest.fixture
def indicators(data):
    peers, a, b = data["peers"], data["a"], data["b"]
    # Ranks are derived on read from the stored values, lower being better here.
    nrw = f.indicator("water_nrw", "100 * nrw_share", unit_of_measure={"en": "%"}, polarity="lower_is_better")
    period = f.period("2024")
    now = timezone.now()
    # A's change (-1.5) is derived from its figure of the year before, which is not exported.
    derived.put(nrw, a, f.period("2023"), value=14.0, computed_at=now)
    derived.put(nrw, a, period, value=12.5, computed_at=now)
    derived.put(nrw, b, period, value=30.0, computed_at=now)
    # The published data give A the same figure without a change (none the year before: a
    # hidden row) and B none (a hidden row).
    derived.put(nrw, a, f.period("2023"), basis="published", computed_at=now)
    derived.put(nrw, a, period, basis="published", value=12.5, computed_at=now)
    derived.put(nrw, b, period, basis="published", computed_at=now)
    GroupStatistic.objects.create(
        indicator=nrw,
        group=peers,
        period=period,
        members=2,
        n=2,
        min=12.5,
        p25=16.9,
        median=21.25,
        p75=25.6,
        max=30.0,
        mean=21.25,
        computed_at=now,
    )
    return nrw


def test_indicator_values_export_with_the_groups_statistics_and_ranks(indicators):
    frame = indicator_values_frame(group="mazovia", periods="2024")
    rows = frame.select(
        "indicator", "unit", "value", "change", "group", "n", "median", "rank", "rank_of", "percentile"
    ).rows()
    assert rows == [
        ("water_nrw", "PL1438011", 12.5, -1.5, "mazovia", 2, 21.25, 1, 2, 100.0),
        ("water_nrw", "PL1465011", 30.0, None, "mazovia", 2, 21.25, 2, 2, 0.0),
    ]


def test_indicator_values_without_a_group_carry_no_statistics_and_respect_the_basis(indicators):
    assert indicator_values_frame().height == 3  # A's 2023 and 2024, B's 2024
    published = indicator_values_frame(basis="published")
    assert published.select("unit", "value", "unit_of_measure").rows() == [("PL1438011", 12.5, "%")]
    assert "median" not in published.columns


def test_indicator_values_export_as_csv_and_xlsx(indicators):
    csv_text = export_indicator_values(group="mazovia", delimiter=";", decimal=",").decode()
    assert csv_text.splitlines()[1].startswith("water_nrw;water_nrw;%;PL1438011;Żyrardów;2023;;14,0;;")
    assert csv_text.splitlines()[2].startswith("water_nrw;water_nrw;%;PL1438011;Żyrardów;2024;;12,5;-1,5;")
    book = CalamineWorkbook.from_filelike(io.BytesIO(export_indicator_values("xlsx", group="mazovia")))
    rows = book.get_sheet_by_name("Indicators").to_python()
    assert rows[0][:4] == ["indicator", "indicator_name", "unit_of_measure", "unit"] and len(rows) == 4


def test_indicator_values_are_read_and_written_a_chunk_of_indicators_at_a_time(indicators, monkeypatch):
    """A country's group export is millions of rows: read a few indicators at a time (one
    frame each) and written as they come, in the order one read of everything gives."""
    from municipium.benchmarks import exports
    from municipium.places.models import Unit

    second = f.indicator("water_cover", "100 * nrw_share", unit_of_measure={"en": "%"})
    now = timezone.now()
    for unit, number in ((Unit.objects.get(code="PL1465011"), 40.0), (Unit.objects.get(code="PL1438011"), 5.0)):
        derived.put(second, unit, f.period("2024"), value=number, computed_at=now)
    whole = export_indicator_values(group="mazovia")
    monkeypatch.setattr(exports, "CHUNK_INDICATORS", 1)
    pieces = list(exports.indicator_values_csv(group="mazovia"))
    assert len(pieces) == 2 and b"".join(pieces) == whole  # a piece an indicator, the first with the header
    assert [line.split(",")[0] for line in whole.decode().splitlines()] == [
        "indicator",
        *["water_cover"] * 2,
        *["water_nrw"] * 3,
    ]
    assert [line.split(",")[3] for line in whole.decode().splitlines()[1:3]] == ["PL1438011", "PL1465011"]
    # Nothing selected: the header alone, as before.
    assert exports.export_indicator_values(indicators=["none_such"]) == b"".join(
        exports.indicator_values_csv(indicators=["none_such"])
    )
    assert export_indicator_values(indicators=["none_such"]).decode().startswith("indicator,indicator_name,")


def test_a_failed_export_leaves_no_file_under_the_asked_name(tmp_path):
    from municipium.cli import _write_pieces

    def pieces():
        yield b"indicator,value\n"
        raise RuntimeError("the database went away")

    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        _write_pieces(str(target), pieces())
    assert list(tmp_path.iterdir()) == []
    assert _write_pieces(str(target), iter([b"a\n", b"b\n"])) == 0 and target.read_bytes() == b"a\nb\n"


def test_observations_are_read_and_written_a_chunk_of_units_at_a_time(data, monkeypatch):
    """A country's observations are millions: read a few units at a time and written as they
    come, in the order (unit, variable, period, category) one read of everything gives."""
    from municipium.observations import exports

    whole = export_observations()
    monkeypatch.setattr(exports, "CHUNK_UNITS", 1)
    pieces = list(exports.observations_csv())
    assert len(pieces) == 3 and b"".join(pieces) == whole  # LT13, PL1438011, PL1465011
    assert [row[0] for row in csv.reader(io.StringIO(whole.decode()))][1:] == [
        "LT13",
        *["PL1438011"] * 5,
        "PL1465011",
    ]
    # A group's members in their periods, a chunk at a time too.
    assert b"".join(exports.observations_csv(group="mazovia")) == export_observations(group="mazovia")
    assert b"LT13" not in export_observations(group="mazovia")
    assert export_observations(units=["none_such"]).decode().startswith("unit,unit_name,variable,")


def test_a_units_rank_is_among_all_the_groups_members_whatever_the_units_exported(indicators):
    """Without a unit filter the export ranks the group's rows it has read; with one, the
    unit's rank is still its place among all the members (read from the stored values)."""
    both = indicator_values_frame(group="mazovia", periods="2024").select("unit", "rank", "rank_of", "percentile")
    one = indicator_values_frame(group="mazovia", periods="2024", units=["PL1465011"])
    assert one.select("unit", "rank", "rank_of", "percentile").rows() == [("PL1465011", 2, 2, 0.0)]
    assert both.rows() == [("PL1438011", 1, 2, 100.0), ("PL1465011", 2, 2, 0.0)]
    # The public's ranks: B's published figure rests on unpublished data (no value), so A
    # is ranked alone.
    public = indicator_values_frame(group="mazovia", periods="2024", basis="published")
    assert public.select("unit", "rank", "rank_of").rows() == [("PL1438011", 1, 1)]
