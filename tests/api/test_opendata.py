"""Open-data downloads read back with the standard Python clients give the stored numbers.

JSON-stat is read with pyjstat. SDMX-CSV 2.0 is read with sdmx1 (2.28 reads SDMX-CSV 2.x
given the data structure, which it reads from the structure the API publishes).
"""

import io
import json

import pytest
import sdmx
from django.db import transaction
from pyjstat import pyjstat
from python_calamine import CalamineWorkbook

from municipium.api import opendata
from municipium.benchmarks import read
from municipium.catalog.models import Indicator
from municipium.observations.models import Period
from tests.world import build_world

from .conftest import Api, person, token_for

YEARS = (2023, 2024)


@pytest.fixture(scope="module")
def _rasina(django_db_setup, django_db_blocker):
    # Built once for the module (it takes seconds) inside a transaction rolled back at the
    # end; each test's own transaction nests inside it.
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_world(years=YEARS, groups=("rasina",), last_year_status="draft")
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def rasina(_rasina, db):
    return _rasina


def expected(public: bool, units=None) -> dict:
    """(unit, indicator, period) -> value through benchmarks.read, the pages' own path."""
    out = {}
    for indicator in Indicator.objects.all():
        for period in Period.objects.filter(code__in=[str(y) for y in YEARS]):
            for row in read.values(indicator, period, public=public):
                if units is None or row.unit.code in units:
                    out[(row.unit.code, indicator.code, period.code)] = row.value
    return out


def sdmx_structure():
    """The dataflow as the API publishes it (SDMX-ML 2.1)."""
    response = Api().get(f"/sdmx/dataflow/{opendata.SDMX_AGENCY}/{opendata.SDMX_DATAFLOW}/{opendata.SDMX_VERSION}")
    return sdmx.read_sdmx(io.BytesIO(response.content)).dataflow[opendata.SDMX_DATAFLOW]


# pyjstat's own DataFrame writer calls its deprecated reader.
@pytest.mark.filterwarnings("ignore:Shouldn't use this function anymore:DeprecationWarning")
def test_jsonstat_read_with_pyjstat_gives_the_published_numbers(rasina):
    response = Api().get("/data/indicators.jsonstat")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    dataset = json.loads(response.content)
    assert dataset["version"] == "2.0" and dataset["class"] == "dataset"
    assert dataset["id"] == ["unit", "indicator", "period", "breakdown"]
    assert dataset["role"] == {"geo": ["unit"], "metric": ["indicator"], "time": ["period"]}
    frame = pyjstat.Dataset.read(response.content.decode()).write("dataframe", naming="id")
    frame = frame[(frame["breakdown"] == opendata.TOTAL) & frame["value"].notna()]
    got = {(r.unit, r.indicator, r.period): r.value for r in frame.itertuples()}
    want = expected(public=True)
    assert want and got == pytest.approx(want)
    # Every value is published (A); the positions without one say why they are missing.
    assert all(
        code == "A" if dataset["value"][int(position)] is not None else code in "OLQM"
        for position, code in dataset["status"].items()
    )
    some = next(iter(dataset["extension"]["unit_of_measure"]))
    assert (
        dataset["dimension"]["indicator"]["category"]["unit"][some]["label"]
        == dataset["extension"]["unit_of_measure"][some]
    )


def test_sdmx_csv_read_with_sdmx1_gives_the_numbers_an_insider_sees(rasina):
    coordinator = person("coord", "coordinator", group=rasina.group("rasina"))
    response = Api(token_for(coordinator, ("read",))).get("/data/indicators.sdmx.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.sdmx.data+csv")
    header = response.content.decode().splitlines()[0]
    assert header == (
        "STRUCTURE,STRUCTURE_ID,ACTION,UNIT,INDICATOR,TIME_PERIOD,BREAKDOWN,OBS_VALUE,OBS_STATUS,OBS_CONF,UNIT_MEASURE"
    )
    message = sdmx.read_sdmx(io.BytesIO(response.content), format="CSV", structure=sdmx_structure())
    frame = sdmx.to_pandas(message.data[0], attributes="o").reset_index()
    totals = frame[(frame["BREAKDOWN"] == opendata.TOTAL) & frame["value"].notna()]
    got = {(r.UNIT, r.INDICATOR, r.TIME_PERIOD): float(r.value) for r in totals.itertuples()}
    members = set(rasina.group("rasina").units.values_list("code", flat=True))
    assert got == pytest.approx(expected(public=False, units=members))
    statuses = {(r.TIME_PERIOD, r.OBS_STATUS) for r in totals.itertuples()}
    assert ("2024", "P") in statuses and ("2023", "A") in statuses and ("2023", "P") not in statuses


def test_csv_and_excel_carry_the_same_rows(rasina):
    public = Api()
    filters = {"indicator": list(Indicator.objects.values_list("code", flat=True)[:2]), "period_from": "2023"}
    text = public.get("/data/indicators.csv", filters).content.decode("utf-8-sig").splitlines()
    assert text[0] == ",".join(opendata.TABLE_COLUMNS)
    book = CalamineWorkbook.from_filelike(io.BytesIO(public.get("/data/indicators.xlsx", filters).content))
    sheet = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    assert len(sheet) == len(text) > 1
    values = public.get("/indicator-values", {**filters, "limit": 1000}).json()["items"]
    assert len(values) == len(text) - 1


def test_period_codes_are_written_the_sdmx_way():
    assert [opendata.sdmx_period(c) for c in ("2024", "2024Q3", "2024-07")] == ["2024", "2024-Q3", "2024-07"]


def test_an_unknown_format_is_not_found(db):
    assert Api().get("/data/indicators.pdf").status_code in (404, 422)
