"""The SDMX structure is published (issue 11): sdmx1 reads our SDMX-CSV with the structure it
fetches from the API, no hand-made one, and gets the API's values value for value, missing
ones with their reasons; the total category is labelled."""

import io
import json
import math

import pytest
import sdmx
from django.urls import reverse

from municipium.api import opendata
from municipium.benchmarks import engine
from tests import factories as f

from .conftest import Api, person, token_for

STRUCTURE = "/sdmx/dataflow/MUNICIPIUM/INDICATOR_VALUES/1.0"


@pytest.fixture
def gaps(world):
    d, e = f.unit("D", {"en": "Dobro", "pl": "Dobre"}), f.unit("E")
    f.write(
        [
            f.row(d, world.produced, 2023, None, missing="confidential"),
            f.row(d, world.billed, 2023, 10),
            f.row(e, world.billed, 2023, 10),
        ]
    )
    engine.recompute_all()
    return world


def _structure(api: Api):
    response = api.get(STRUCTURE)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.sdmx.structure+xml")
    return sdmx.read_sdmx(io.BytesIO(response.content))


@pytest.mark.parametrize("insider", [False, True])
def test_sdmx1_reads_the_csv_with_the_published_structure_and_gets_the_api_values(gaps, insider):
    api = Api(token_for(person("coord", "coordinator", group=gaps.east), ("read",))) if insider else Api()
    structure = _structure(api)
    dataflow = structure.dataflow[opendata.SDMX_DATAFLOW]
    csv_response = api.get("/data/indicators.sdmx.csv")
    assert reverse("api:sdmx_structure") in csv_response["Link"]
    message = sdmx.read_sdmx(io.BytesIO(csv_response.content), format="CSV", structure=dataflow)
    frame = sdmx.to_pandas(message.data[0], attributes="o").reset_index()
    got = {
        (r.UNIT, r.INDICATOR, r.TIME_PERIOD, r.BREAKDOWN): (None if math.isnan(r.value) else r.value, r.OBS_STATUS)
        for r in frame.itertuples()
    }
    items = api.get("/indicator-values", {"limit": 1000}).json()["items"]
    want = {
        (i["unit"], i["indicator"], opendata.sdmx_period(i["period"]), i["breakdown"] or opendata.TOTAL): (
            i["value"],
            opendata.obs_status(i),
        )
        for i in items
    }
    assert want and got == want
    assert got[("D", "nrw", "2023", "_T")] == (None, "Q") and got[("E", "nrw", "2023", "_T")] == (None, "O")
    # A's 2024 is a draft: provisional inside its group, absent outside.
    assert got.get(("A", "nrw", "2024", "_T"), (None, None))[1] == ("P" if insider else None)


def test_the_structure_names_every_code_and_labels_the_total(gaps):
    structure = _structure(Api())
    dsd = structure.structure[opendata.SDMX_DATAFLOW]
    assert [d.id for d in dsd.dimensions] == ["UNIT", "INDICATOR", "TIME_PERIOD", "BREAKDOWN"]
    assert {a.id for a in dsd.attributes} == {"OBS_STATUS", "OBS_CONF", "UNIT_MEASURE"}
    assert [m.id for m in dsd.measures] == ["OBS_VALUE"]
    breakdown = structure.codelist["CL_BREAKDOWN"]
    assert breakdown[opendata.TOTAL].name.localizations["en"] == "Total"
    assert set(breakdown[opendata.TOTAL].name.localizations) == {"en", "pl", "sr", "bg", "lt", "fa"}
    assert structure.codelist["CL_UNIT"]["D"].name.localizations["pl"] == "Dobre"
    assert set(structure.codelist["CL_OBS_STATUS"].items) == {"A", "P", "O", "L", "Q", "M"}
    assert set(structure.codelist["CL_CONF_STATUS"].items) == {"F", "N", "C"}
    assert dsd.dimensions.get("BREAKDOWN").local_representation.enumerated is breakdown


def test_json_stat_labels_the_total_category_too(gaps):
    dataset = json.loads(Api().get("/data/indicators.jsonstat", headers={"Accept-Language": "pl"}).content)
    labels = dataset["dimension"]["breakdown"]["category"]["label"]
    assert labels[opendata.TOTAL] not in ("", opendata.TOTAL)
