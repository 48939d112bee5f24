"""The open-data downloads stream (issue 18: the whole data set in every format through
`municipium serve`): CSV, SDMX-CSV and JSON-stat are written piece by piece from a chunked
read, and their bytes are those the downloads gave when they were built whole in memory
(`opendata_before`, the previous code kept as the oracle), on the demo data, for the public
and for a coordinator who sees the unpublished figures of their group. Excel is written in
XlsxWriter's constant-memory mode, and a selection over its row limit is refused with a
message that names the limit and the CSV download of the same rows."""

import io
import json

import numpy as np
import polars as pl
import pytest
from django.http import FileResponse, StreamingHttpResponse
from django.test import Client
from django.utils import translation
from python_calamine import CalamineWorkbook

from municipium.api import api as api_module
from municipium.api import opendata
from municipium.api.auth import Caller
from municipium.benchmarks import read
from municipium.catalog.models import Indicator
from municipium.demo.load import load_demo
from municipium.places.models import Group
from tests.world import rolled_back

from . import opendata_before as before
from .conftest import Api, person, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with rolled_back(django_db_blocker):
        load_demo()
        coordinator = person(
            "streaming-coordinator", "coordinator", group=Group.objects.filter(kind=Group.Kind.EXCHANGE).first()
        )
        yield coordinator


@pytest.fixture(params=["public", "coordinator"])
def reader(request, demo):
    """(the API client, the Caller the old code is given) for each kind of reader."""
    if request.param == "public":
        return Api(), Caller()
    return Api(token_for(demo, scopes=("read",))), Caller(user=demo)


@pytest.fixture
def small_chunks(monkeypatch):
    # Chunks cut the demo's rows at many places (997 is prime): the pieces must join up.
    monkeypatch.setattr(opendata, "CHUNK_ROWS", 997)


def previous(caller: Caller, writer, language: str = "en", **kwargs) -> bytes:
    with translation.override(language):
        rows = before.opendata_rows(caller, api_module.IndicatorFilters(), language)
        return writer(rows, **kwargs)


def test_csv_and_sdmx_csv_are_the_bytes_they_were(reader, small_chunks):
    api, caller = reader
    csv_response = api.get("/data/indicators.csv")
    assert csv_response.streamed and csv_response.status_code == 200
    want = previous(caller, before.to_csv)
    assert want.count(b"\n") > 10_000  # the demo's rows, many chunks of them
    assert csv_response.content == want
    sdmx_response = api.get("/data/indicators.sdmx.csv")
    assert sdmx_response.streamed and sdmx_response.content == previous(caller, before.to_sdmx_csv)


def test_jsonstat_is_the_dataset_it_was(reader, small_chunks):
    api, caller = reader
    response = api.get("/data/indicators.jsonstat", headers={"Accept-Language": "pl"})
    assert response.streamed and response.status_code == 200
    got = json.loads(response.content)
    want = json.loads(
        previous(caller, before.to_jsonstat, "pl", label=got["label"], source="Municipium", updated=got["updated"])
    )
    assert got["label"] == "Wartości wskaźników Municipium"
    assert got["value"] and got == want
    # The same text but for the order of `status`, which now follows the positions.
    assert list(got["status"]) == sorted(got["status"], key=int)


def test_excel_holds_the_cells_it_held(demo, small_chunks):
    # The coordinator's rows (published and unpublished): writing the workbook twice is slow.
    api, caller = Api(token_for(demo, scopes=("read",))), Caller(user=demo)
    response = api.get("/data/indicators.xlsx")
    assert response.streamed and response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="indicators.xlsx"'

    def cells(content: bytes) -> list[list]:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        return book.get_sheet_by_index(0).to_python()

    got = cells(response.content)
    assert len(got) > 10_000 and got == cells(previous(caller, before.to_xlsx, sheet="Indicators"))


def test_the_downloads_stream_an_indicator_at_a_time(demo, monkeypatch):
    monkeypatch.setattr(opendata, "CHUNK_ROWS", 50)
    reads = []
    real = read._read

    def spy(*args, **kwargs):
        rows = real(*args, **kwargs)
        reads.append(rows.height)
        return rows

    monkeypatch.setattr(read, "_read", spy)
    client = Client(HTTP_HOST="localhost")
    indicators = Indicator.objects.count()
    for fmt in ("csv", "sdmx.csv"):
        reads.clear()
        response = client.get(f"/api/data/indicators.{fmt}")
        assert isinstance(response, StreamingHttpResponse) and response.status_code == 200
        pieces = iter(response.streaming_content)
        next(pieces)
        # The first piece went out after one indicator's series were read at most, not
        # after the whole selection (SDMX-CSV sends its header before it reads any).
        assert len(reads) <= 1
        rest = list(pieces)
        # One read an indicator: memory holds one indicator's values whatever the selection.
        assert len(rest) > 100 and len(reads) == indicators and sum(reads) > 50 * 100
    # JSON-stat needs every category before its first value: it reads the rows once into a
    # spool on disk, then writes the cube slice by slice.
    reads.clear()
    response = client.get("/api/data/indicators.jsonstat")
    assert isinstance(response, StreamingHttpResponse) and len(list(response.streaming_content)) > 100
    assert len(reads) == indicators


def test_excel_is_refused_above_its_row_limit_with_the_csv_alternative(demo, settings):
    settings.OPENDATA_XLSX_MAX_ROWS = 100
    response = Api().get("/data/indicators.xlsx", {"period_from": "2020"}, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("the Excel download holds at most 100 rows and this selection has more: ")
    assert "http://localhost/api/data/indicators.csv?period_from=2020" in detail
    assert response.json()["problems"][0]["column"] == "fmt"
    within = {"unit": "RS-70670", "indicator": "water_nrw"}
    small = Client(HTTP_HOST="localhost").get("/api/data/indicators.xlsx", within)
    assert isinstance(small, FileResponse) and small.status_code == 200
    rows = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(small.streaming_content))).get_sheet_by_index(0)
    assert 1 < len(rows.to_python()) <= 101


def test_excel_refusal_counts_no_further_than_one_row_past_the_limit(demo, settings):
    # A country's fifty million values took 22-37 s to count before the refusal (issue 18):
    # the count reads at most limit + 1 rows, and stops at the indicator that passes it.
    settings.OPENDATA_XLSX_MAX_ROWS = 30
    download = api_module.Download(Caller(), api_module.IndicatorFilters())
    written = list(download.frames())
    everything = sum(frame.height for frame in written)
    indicators = {code for frame in written for code in frame.get_column("indicator").unique()}
    assert everything > 31 and len(indicators) > 2
    reads = []
    real = read._read

    def spy(*args, **kwargs):
        rows = real(*args, **kwargs)
        reads.append(rows.height)
        return rows

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(read, "_read", spy)
        assert download.count(most=30) == 31
    # It stopped at the indicator that passed the limit.
    assert reads and len(reads) < len(indicators)
    assert download.count(most=everything) == everything  # within the limit: the exact count


def test_numbers_are_written_as_the_row_by_row_writers_wrote_them():
    # The column operations that write a frame's numbers give repr() and `_number`'s text for
    # every double: a million random ones over all magnitudes, and the edges.
    rng = np.random.default_rng(18)
    doubles = rng.random(1_000_000) * 10.0 ** rng.integers(-12, 22, 1_000_000)
    doubles[::2] *= -1
    doubles[::7] = np.round(doubles[::7])
    edges = [0.0, -0.0, 1e-4, 9.999999999999999e-05, 1e15, 1e15 - 1, 1e16, 1e16 - 2, 5e-324, 1.7976931348623157e308]
    doubles = np.concatenate([doubles, edges, [np.inf, -np.inf]])
    series = pl.Series(doubles)
    assert opendata.float_texts(series).to_list() == [repr(float(d)) for d in doubles]
    assert opendata.number_texts(series).to_list() == [opendata._number(d) for d in doubles]
    assert opendata.number_texts(pl.Series([None, 2.0], dtype=pl.Float64)).to_list() == [None, "2"]
