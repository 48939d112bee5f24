"""A missing indicator value carries its reason in every open-data format and in the API
(DESIGN principle 2, issue 11): not collected, not shared, confidential, not applicable.

SDMX-CSV says it with the SDMX code lists (CL_OBS_STATUS in OBS_STATUS, CL_CONF_STATUS in
OBS_CONF), JSON-stat in `status`, CSV and Excel in a `missing` column, the API in `missing`.
"""

import csv
import io
import json

import pytest
from python_calamine import CalamineWorkbook

from municipium.api import opendata
from municipium.benchmarks import engine
from municipium.places.models import Unit
from tests import factories as f

from .conftest import Api

# unit: (produced, billed) in 2023, published; None with a reason is a missing observation.
CASES = {
    "D": ({"missing": "confidential"}, {"value": 10}),
    "E": ({"missing": "not_applicable"}, {"missing": "not_applicable"}),
    "F": ({"missing": "not_shared"}, {"value": 10}),
    "G": (None, {"value": 10}),  # produced never reported: not collected
}
REASONS = {"D": "confidential", "E": "not_applicable", "F": "not_shared", "G": "not_collected"}
SDMX = {"D": ("Q", "C"), "E": ("M", "F"), "F": ("L", "F"), "G": ("O", "F")}


@pytest.fixture
def gaps(world):
    rows = []
    for code, inputs in CASES.items():
        unit = f.unit(code)
        for variable, given in zip((world.produced, world.billed), inputs, strict=True):
            if given is not None:
                rows.append(f.row(unit, variable, 2023, given.get("value"), missing=given.get("missing", "")))
    f.write(rows)
    engine.recompute_all()
    return world


FILTERS = {"indicator": "nrw", "period_from": "2023", "period_to": "2023"}


def test_the_api_says_why_a_value_is_missing(gaps):
    items = Api().get("/indicator-values", {**FILTERS, "limit": 100}).json()["items"]
    got = {i["unit"]: (i["value"], i["missing"]) for i in items}
    assert {code: got[code] for code in REASONS} == {code: (None, reason) for code, reason in REASONS.items()}
    assert got["A"] == (pytest.approx(20.0), "")


def test_csv_and_excel_carry_the_reason_in_a_missing_column(gaps):
    public = Api()
    text = public.get("/data/indicators.csv", FILTERS).content.decode("utf-8-sig")
    rows = {r["unit"]: r for r in csv.DictReader(io.StringIO(text))}
    assert {code: (rows[code]["value"], rows[code]["missing"]) for code in REASONS} == {
        code: ("", reason) for code, reason in REASONS.items()
    }
    assert rows["A"]["missing"] == "" and float(rows["A"]["value"]) == pytest.approx(20.0)

    content = public.get("/data/indicators.xlsx", FILTERS).content
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    header = sheet[0]
    assert header == opendata.TABLE_COLUMNS
    by_unit = {r[header.index("unit")]: r for r in sheet[1:]}
    for code, reason in REASONS.items():
        assert by_unit[code][header.index("value")] == "" and by_unit[code][header.index("missing")] == reason


def test_jsonstat_status_says_why_a_value_is_missing(gaps):
    dataset = json.loads(Api().get("/data/indicators.jsonstat", FILTERS).content)
    units = dataset["dimension"]["unit"]["category"]["index"]
    # unit is the first dimension; the others have one category each here.
    assert dataset["size"][1:] == [1, 1, 1]
    for code, reason in REASONS.items():
        position = units[code]
        assert dataset["value"][position] is None
        assert dataset["status"][str(position)] == opendata.MISSING_STATUS[reason]
    assert dataset["status"][str(units["A"])] == "A"
    labels = dataset["extension"]["status"]
    assert {"A", "O", "L", "Q", "M"} <= set(labels) and labels["Q"] != labels["M"]


def test_sdmx_csv_gives_obs_status_and_obs_conf_from_the_sdmx_code_lists(gaps):
    text = Api().get("/data/indicators.sdmx.csv", FILTERS).content.decode()
    rows = {r["UNIT"]: r for r in csv.DictReader(io.StringIO(text))}
    for code, (status, conf) in SDMX.items():
        assert (rows[code]["OBS_VALUE"], rows[code]["OBS_STATUS"], rows[code]["OBS_CONF"]) == ("NaN", status, conf)
    assert (rows["A"]["OBS_STATUS"], rows["A"]["OBS_CONF"]) == ("A", "F")


def test_an_outsider_gets_no_row_for_a_value_that_rests_on_unpublished_data(gaps):
    # A's 2024 is a draft: insiders see its value as provisional, outsiders see nothing, not
    # even a missing value that would hint at it.
    filters = {"indicator": "nrw", "period_from": "2024", "period_to": "2024", "limit": 100}
    public = {i["unit"]: i for i in Api().get("/indicator-values", filters).json()["items"]}
    assert "A" not in public and public["B"]["missing"] == ""
    text = Api().get("/data/indicators.sdmx.csv", {k: v for k, v in filters.items() if k != "limit"}).content
    assert ",A,nrw,2024," not in text.decode()


def test_the_indicator_page_and_its_download_say_why_a_member_has_no_value(gaps, client):
    f.group("gaps", list(Unit.objects.filter(code__in=["A", *REASONS])))
    data = client.get("/en/indicators/nrw/data/?group=gaps&period=2023&format=csv")
    rows = {r["unit"]: r for r in csv.DictReader(io.StringIO(data.content.decode("utf-8-sig")))}
    assert {code: (rows[code]["value"], rows[code]["missing"]) for code in REASONS} == {
        code: ("", reason) for code, reason in REASONS.items()
    }
    assert rows["A"]["missing"] == ""
    page = client.get("/pl/indicators/nrw/?group=gaps&period=2023").content.decode()
    for label in ("Poufne", "Nie dotyczy", "Nieudostępniane", "Niezbierane"):
        assert label in page
