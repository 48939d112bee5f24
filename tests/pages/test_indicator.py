"""The indicator page and what it serves: definition, figures, map, data and chart downloads."""

import csv
import io
import json
from xml.etree import ElementTree

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from python_calamine import CalamineWorkbook

from municipium.accounts.models import Role
from municipium.benchmarks.models import Basis, GroupStatistic
from municipium.catalog.models import Indicator
from municipium.lib.numbers import format_number
from municipium.observations.models import Period
from municipium.places.models import Group
from tests import derived
from tests.world import build_world

NRW = "water_non_revenue"


pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the module (building it takes seconds), rolled back at the end. Its last
    year is still draft: 2023 is published, 2024 is seen only inside the groups. Alytus's
    municipalities have boundaries (the map)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world(
            years=(2022, 2023, 2024), groups=("rasina", "pl-exchange", "alytus"), last_year_status="draft"
        )
        transaction.set_rollback(True)


def _nrw_code():
    indicator = Indicator.objects.filter(formula__contains="water_produced - water_billed").first()
    return indicator.code


def _stored(code, group_code, period_code, basis=Basis.ALL):
    indicator = Indicator.objects.get(code=code)
    period = Period.objects.get(code=period_code)
    group = Group.objects.get(code=group_code)
    members = set(group.memberships.values_list("unit_id", flat=True))
    values = {
        v.unit_code: v
        for v in derived.rows(indicator=indicator, period=period, breakdown="", basis=basis, valued=True, unit=members)
    }
    statistic = GroupStatistic.objects.get(indicator=indicator, period=period, group=group, breakdown="", basis=basis)
    return indicator, values, statistic


def test_the_page_shows_the_stored_values_and_the_group_median(client, world):
    code = _nrw_code()
    indicator, values, statistic = _stored(code, "rasina", "2023")
    response = client.get(f"/en/indicators/{code}/?group=rasina&period=2023")
    assert response.status_code == 200
    html = response.content.decode()
    assert format_number(statistic.median, indicator.decimals, "en") in html
    for unit_code, stored in values.items():
        assert f'data-unit="{unit_code}"' in html
        assert f'data-value="{stored.value}"' in html
    # The definition: the formula in words, with the variables' names and units of measure.
    assert 'class="formula-name"' in html
    assert "System input volume" in html and "Water billed" in html
    for name in ("chart-ranking", "chart-series", "chart-distribution"):
        assert f'id="{name}"' in html and f'data-chart="{name}"' in html
    assert "No map: the boundaries" in html  # Rasina has no boundaries loaded (issue 19, item 11)


def test_the_ranking_spec_lists_every_member_with_a_value_best_first(client, world):
    code = _nrw_code()
    indicator, values, statistic = _stored(code, "rasina", "2023")
    response = client.get(f"/en/indicators/{code}/?group=rasina&period=2023")
    spec = response.context["specs"]["ranking"]
    bars = spec["data"]["values"]
    assert {b["unit"] for b in bars} == set(values)
    ordered = [b["value"] for b in bars]
    assert ordered == sorted(ordered, reverse=indicator.polarity == "higher_is_better")
    assert any(layer["mark"]["type"] == "rule" for layer in spec["layer"])
    assert any(layer["mark"]["type"] == "rect" for layer in spec["layer"])


def _largest_group(code):
    """The group with the most members holding a published value (ties by code)."""
    rows = GroupStatistic.objects.filter(indicator__code=code, breakdown="", basis=Basis.ALL, n__gt=0)
    sizes = {}
    for group_code, n in rows.values_list("group__code", "n"):
        sizes[group_code] = max(sizes.get(group_code, 0), n)
    return min(sizes, key=lambda g: (-sizes[g], g)), sizes


def test_without_a_choice_the_page_shows_the_largest_group_with_values_and_the_latest_period(client, world):
    code = _nrw_code()
    largest, sizes = _largest_group(code)
    assert len(set(sizes.values())) > 1 and largest != min(sizes)  # the largest is not the first by code
    response = client.get(f"/en/indicators/{code}/")
    assert response.status_code == 200
    assert response.context["group"].code == largest
    assert response.context["period"].code == "2023"  # the latest published
    # A small group: every member with a value is in the time series.
    assert len(response.context["view"].series_units) == len(
        [r for r in response.context["rows"] if r.value is not None]
    )


def test_coming_from_a_unit_the_page_shows_that_units_largest_group(client, world):
    code = _nrw_code()
    largest, sizes = _largest_group(code)
    other = Group.objects.get(code=min((g for g in sizes if g != largest), key=lambda g: (-sizes[g], g)))
    outside = set(Group.objects.get(code=largest).memberships.values_list("unit_id", flat=True))
    unit = other.memberships.exclude(unit_id__in=outside).select_related("unit").first().unit
    response = client.get(f"/en/indicators/{code}/?unit={unit.code}")
    assert response.status_code == 200
    assert response.context["group"].code == other.code
    # An unknown unit is no error: the largest group, as without it.
    response = client.get(f"/en/indicators/{code}/?unit=nowhere")
    assert response.context["group"].code == largest


def test_htmx_requests_get_the_results_part_only(client, world):
    code = _nrw_code()
    response = client.get(f"/en/indicators/{code}/?group=rasina&period=2023", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="chart-ranking"' in html
    assert "HX-Request" in response["Vary"]


def test_the_map_has_one_feature_per_member_with_its_boundary_and_formatted_value(client, world):
    code = _nrw_code()
    indicator, values, _statistic = _stored(code, "alytus", "2023")
    response = client.get(f"/sr/indicators/{code}/map.geojson?group=alytus&period=2023")
    assert response.status_code == 200
    collection = json.loads(response.content)
    group = Group.objects.get(code="alytus")
    members = [m.unit for m in group.memberships.select_related("unit") if m.unit.boundary]
    assert len(collection["features"]) == len(members) == 5
    assert {f["properties"]["code"] for f in collection["features"]} >= set(values)
    for feature in collection["features"]:
        props = feature["properties"]
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert props["url"] == f"/sr/units/{props['code']}/"
        assert props["color"].startswith("#") and len(props["color"]) == 7
        stored = values.get(props["code"])
        if stored is not None:
            assert props["value_text"].startswith(format_number(stored.value, indicator.decimals, "sr"))


def _sheets(content):
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def test_downloads_are_rounded_as_the_page_shows_them_and_full_on_request(client, world):
    code = _nrw_code()
    indicator, values, statistic = _stored(code, "pl-exchange", "2023")
    address = f"/en/indicators/{code}/data/?group=pl-exchange&period=2023"
    page = client.get(f"/en/indicators/{code}/?group=pl-exchange&period=2023").content.decode()
    response = client.get(address + "&format=csv")
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    got = {r["unit"]: r["value"] for r in rows if r["value"]}
    assert got == {u: str(round(v.value, indicator.decimals)) for u, v in values.items()}
    # Each number as the page writes it.
    for u, v in values.items():
        assert f'data-value="{v.value}">{format_number(float(got[u]), indicator.decimals, "en")}<' in page
    assert float(rows[0]["group_median"]) == round(statistic.median, indicator.decimals)
    # The source line on every row: title, group, year, source and date.
    line = rows[0]["source"]
    assert all(r["source"] == line for r in rows)
    group = Group.objects.get(code="pl-exchange")
    assert line.startswith(f"{indicator.label}, {group.label}, 2023. Source: ") and "Municipium, 20" in line
    assert rows[0]["indicator_name"] == indicator.label and rows[0]["group_name"] == group.label

    full = client.get(address + "&format=csv&precision=full")
    assert 'filename="' in full["Content-Disposition"] and "-full.csv" in full["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(full.content.decode("utf-8-sig"))))
    assert {r["unit"]: float(r["value"]) for r in rows if r["value"]} == {u: v.value for u, v in values.items()}
    assert float(rows[0]["group_median"]) == statistic.median


def test_the_workbook_has_a_title_the_data_the_definition_and_source_and_notes(client, world):
    code = _nrw_code()
    indicator, values, _statistic = _stored(code, "pl-exchange", "2023")
    address = f"/en/indicators/{code}/data/?group=pl-exchange&period=2023&format=xlsx"
    response = client.get(address)
    assert response.status_code == 200
    sheets = _sheets(response.content)
    assert list(sheets) == ["About", "Data", "Definition", "Source and notes"]
    about = dict(sheets["About"][1:])
    group = Group.objects.get(code="pl-exchange")
    assert about["Title"] == f"{indicator.label}: {group.label}, 2023"
    assert about["Source line"].startswith(f"{indicator.label}, {group.label}, 2023. Source: ")
    assert about["Figures"].startswith("Rounded as shown on the page: ")
    assert about["Address"] == "http://testserver" + address
    header, *body = sheets["Data"]
    column = header.index("value")
    got = {row[0]: row[column] for row in body if row[column] != ""}
    assert got == {u: round(v.value, indicator.decimals) for u, v in values.items()}
    definition = dict(sheets["Definition"][1:])
    assert definition["Code"] == indicator.code and definition["Formula as written"] == indicator.formula
    assert "water" in definition["Formula"].lower() and definition["Indicator"] == indicator.label
    assert any(key.startswith("Variable ") for key in definition)
    notes = dict(sheets["Source and notes"][1:])
    assert notes["Source line"] == about["Source line"] and notes["Rank"] and notes["Missing"]

    full = _sheets(client.get(address + "&precision=full").content)
    header, *body = full["Data"]
    got = {row[0]: row[header.index("value")] for row in body if row[header.index("value")] != ""}
    assert got == {u: pytest.approx(v.value, rel=1e-14) for u, v in values.items()}
    assert dict(full["About"][1:])["Figures"] == "Full precision: every digit stored, not rounded."


def test_the_workbook_speaks_the_readers_language(client, world):
    code = _nrw_code()
    response = client.get(f"/pl/indicators/{code}/data/?group=pl-exchange&period=2023&format=xlsx")
    names = list(_sheets(response.content))
    assert len(names) == 4 and names[1] != "Data", names


@pytest.mark.parametrize("name", ["ranking", "series", "distribution"])
def test_a_chart_image_carries_its_whole_title_and_the_source_line(client, world, name):
    code = _nrw_code()
    indicator = Indicator.objects.get(code=code)
    group = Group.objects.get(code="rasina")
    svg = client.get(f"/en/indicators/{code}/chart/{name}.svg?group=rasina&period=2023").content.decode()
    drawn = " ".join("".join(t.itertext()) for t in ElementTree.fromstring(svg).iter() if t.tag.endswith("text"))
    # Every line of the title and of the source line is drawn (none runs off the edge).
    assert group.label in drawn and "2023" in drawn and "Source: " in drawn and "Municipium, 20" in drawn
    assert all(word in drawn for word in indicator.label.split())
    width = float(ElementTree.fromstring(svg).get("width"))
    assert width <= 760


@pytest.mark.parametrize("name", ["ranking", "series", "distribution"])
def test_every_chart_downloads_as_png_and_svg(client, world, name):
    code = _nrw_code()
    png = client.get(f"/pl/indicators/{code}/chart/{name}.png?group=rasina&period=2023")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = client.get(f"/pl/indicators/{code}/chart/{name}.svg?group=rasina&period=2023")
    assert svg.status_code == 200
    root = ElementTree.fromstring(svg.content)
    assert root.tag.endswith("svg")


@pytest.mark.parametrize(
    "address",
    [
        "/en/indicators/no_such_indicator/",
        "/en/indicators/%00/",
        "/en/indicators/{code}/?period=2023%00",
        "/en/indicators/{code}/?group=" + "x" * 300,
        "/en/indicators/{code}/?group=no-such-group",
        "/en/indicators/{code}/?period=20x4",
        "/en/indicators/{code}/?period=1850",
        "/en/indicators/{code}/?period=2031",
        "/en/indicators/{code}/map.geojson?group=%00%27",
        "/en/indicators/{code}/data/?format=pdf",
        "/en/indicators/{code}/chart/pie.png",
        "/en/indicators/{code}/chart/ranking.gif",
    ],
)
def test_unknown_or_malformed_choices_are_not_found(client, world, address):
    assert client.get(address.format(code=_nrw_code())).status_code == 404


def test_anonymous_readers_do_not_see_figures_built_on_draft_data(client, world):
    code = _nrw_code()
    response = client.get(f"/en/indicators/{code}/?group=rasina")
    # The latest published figures are 2023's; 2024 rests on drafts.
    assert response.context["period"].code == "2023"
    assert [p.code for p in response.context["view"].periods] == ["2022", "2023"]

    response = client.get(f"/en/indicators/{code}/?group=rasina&period=2024")
    assert response.status_code == 200
    assert not [r for r in response.context["rows"] if r.value is not None]
    data = client.get(f"/en/indicators/{code}/data/?group=rasina&period=2024&format=csv")
    rows = list(csv.DictReader(io.StringIO(data.content.decode("utf-8-sig"))))
    assert rows and all(r["value"] == "" for r in rows)
    features = json.loads(client.get(f"/en/indicators/{code}/map.geojson?group=rasina&period=2024").content)
    assert all(f["properties"]["value"] is None for f in features["features"])


def test_a_reader_inside_the_group_sees_the_draft_figures(client, world):
    code = _nrw_code()
    user = get_user_model().objects.create_user("viewer")
    Role.objects.create(user=user, kind="viewer", group=Group.objects.get(code="rasina"))
    client.force_login(user)
    response = client.get(f"/en/indicators/{code}/?group=rasina")
    assert response.context["period"].code == "2024"
    assert response.context["view"].public is False
    _indicator, values, _statistic = _stored(code, "rasina", "2024")
    got = {r.unit.code: r.value for r in response.context["rows"] if r.value is not None}
    assert got == {u: v.value for u, v in values.items()} and got


def test_the_page_reads_a_constant_number_of_queries(client, world, django_assert_max_num_queries):
    code = _nrw_code()
    with django_assert_max_num_queries(25):
        assert client.get(f"/en/indicators/{code}/?group=rasina&period=2023").status_code == 200


def test_a_persian_page_is_right_to_left_with_persian_digits(client, world):
    code = _nrw_code()
    response = client.get(f"/fa/indicators/{code}/?group=rasina&period=2023")
    html = response.content.decode()
    assert "۲۰۲۳" in html
    assert response.context["specs"]["ranking"]["title"]["anchor"] == "end"
    # The formula in words writes its numbers in Persian too ("۱۰۰ ×", not "100 ×").
    formula = str(response.context["definition"]["formula_html"])
    assert formula.startswith("۱۰۰ × (") and "100" not in formula


def test_members_for_the_time_series_are_chosen_with_checkboxes_not_a_ctrl_click_list(client, world):
    # issue 19: "Hold Ctrl to choose several" on a touch screen.
    code = _nrw_code()
    html = client.get(f"/en/indicators/{code}/?group=rasina&period=2023").content.decode()
    assert 'type="checkbox" name="units"' in html
    assert "multiple" not in html.split('id="filter-period"')[1].split("</form>")[0]
    assert "Ctrl" not in html
    chosen = client.get(f"/en/indicators/{code}/?group=rasina&period=2023&units=RS-70670&units=RS-71170")
    assert sorted(u.code for u in chosen.context["view"].series_units) == ["RS-70670", "RS-71170"]


def test_a_group_without_boundaries_gets_a_sentence_saying_why_instead_of_an_empty_map(client, world):
    """Issue 19, item 11: an empty map box with no message where no boundaries are loaded."""
    code = _nrw_code()
    rasina = client.get(f"/en/indicators/{code}/?group=rasina&period=2023").content.decode()
    assert "No map: the boundaries of these members are not loaded" in rasina and "data-map=" not in rasina
    alytus = client.get(f"/en/indicators/{code}/?group=alytus&period=2023").content.decode()
    assert "data-map=" in alytus and "No map:" not in alytus


def test_a_unit_opened_from_its_profile_is_highlighted_in_the_table_the_charts_and_the_map(client, world):
    """Issue 19: the unit the reader came from stands out in every ranking, chart and map."""
    code = _nrw_code()
    _indicator, values, _statistic = _stored(code, "alytus", "2023")
    unit = Group.objects.get(code="alytus").members_in(Period.objects.get(code="2023")).first()
    profile = client.get(f"/en/units/{unit.code}/?group=alytus&period=2023").content.decode()
    assert f"/en/indicators/{code}/?group=alytus&amp;period=2023&amp;unit={unit.code}" in profile

    response = client.get(f"/en/indicators/{code}/?group=alytus&period=2023&unit={unit.code}")
    html = response.content.decode()
    assert f'<tr data-unit="{unit.code}" class="unit-highlight" aria-current="true">' in html
    assert html.count("unit-highlight") == 1
    # Filters and downloads keep the highlight (the address restores the view).
    assert f'<input type="hidden" name="unit" value="{unit.code}">' in html
    assert f"unit={unit.code}" in response.context["view"].query
    ranking = response.context["specs"]["ranking"]
    assert [r["unit"] for r in ranking["data"]["values"] if r["highlight"]] == [unit.code]
    bars = next(layer for layer in ranking["layer"] if layer["mark"]["type"] == "bar")
    assert bars["encoding"]["stroke"]["condition"] == {"test": "datum.highlight", "value": "#111111"}
    assert f"Outlined: {unit.label}" in ranking["title"]["subtitle"]
    series = response.context["specs"]["series"]
    assert {r["label"] for r in series["data"]["values"] if r["highlight"]} == {unit.label}
    assert any(layer.get("transform") == [{"filter": "datum.highlight"}] for layer in series["layer"])
    distribution = response.context["specs"]["distribution"]
    assert any(layer.get("transform") == [{"filter": "datum.highlight"}] for layer in distribution["layer"])
    features = client.get(f"/en/indicators/{code}/map.geojson?{response.context['view'].query}").json()["features"]
    assert [f["id"] for f in features if f["properties"]["highlight"]] == [unit.code]

    # Without it, or with a unit outside the group, nothing is outlined.
    plain = client.get(f"/en/indicators/{code}/?group=alytus&period=2023")
    assert "unit-highlight" not in plain.content.decode()
    assert (
        "stroke"
        not in next(la for la in plain.context["specs"]["ranking"]["layer"] if la["mark"]["type"] == "bar")["encoding"]
    )
    outsider = Group.objects.get(code="rasina").members_in(Period.objects.get(code="2023")).first()
    other = client.get(f"/en/indicators/{code}/?group=alytus&period=2023&unit={outsider.code}")
    assert not any(r["highlight"] for r in other.context["specs"]["ranking"]["data"]["values"])


def test_the_page_offers_a_link_that_restores_the_view_and_the_code_to_embed_its_ranking(client, world):
    code = _nrw_code()
    unit = Group.objects.get(code="alytus").members_in(Period.objects.get(code="2023")).first()
    response = client.get(f"/en/indicators/{code}/?group=alytus&period=2023&unit={unit.code}")
    html = response.content.decode()
    share = f"http://testserver/en/indicators/{code}/?group=alytus&amp;period=2023&amp;unit={unit.code}"
    assert f'id="share-link" class="form-control form-control-sm" type="text" readonly value="{share}"' in html
    # The link restores what it shows: the same group, period and highlighted unit.
    again = client.get(share.replace("http://testserver", "").replace("&amp;", "&"))
    assert (again.context["group"].code, again.context["period"].code) == ("alytus", "2023")
    assert [r.unit.code for r in again.context["rows"] if r.highlight] == [unit.code]
    embed = f"http://testserver/en/embed/indicators/{code}/ranking/?group=alytus&amp;amp;period=2023&amp;amp;unit={unit.code}"
    assert f"&lt;iframe src=&quot;{embed}&quot;" in html
    for name in ("ranking", "series", "distribution"):
        assert f'href="/en/embed/indicators/{code}/{name}/?group=alytus&amp;period=2023&amp;unit={unit.code}"' in html


def test_an_embedded_chart_may_be_framed_and_carries_its_source_line(client, world):
    code = _nrw_code()
    indicator = Indicator.objects.get(code=code)
    page = client.get(f"/en/indicators/{code}/?group=alytus&period=2023")
    assert page["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in page["Content-Security-Policy"]

    response = client.get(f"/en/embed/indicators/{code}/ranking/?group=alytus&period=2023")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors *" in policy and "script-src 'self'" in policy and "unsafe" not in policy
    html = response.content.decode()
    assert 'id="chart-embed" type="application/json"' in html and 'data-chart="chart-embed"' in html
    source = html[html.index('<figcaption class="embed-source">') :]
    source = source[: source.index("</figcaption>")]
    assert indicator.label in source and "Alytus" in source and "2023" in source
    assert "Source:" in source and "Figures as of" in source and "Published figures only." in source
    assert "<header" not in html  # the chart and its source line, not the site's frame
    assert client.get(f"/en/embed/indicators/{code}/table/?group=alytus&period=2023").status_code == 404
    persian = client.get(f"/fa/embed/indicators/{code}/series/?group=alytus&period=2023").content.decode()
    assert 'dir="rtl"' in persian and "۲۰۲۳" in persian


def test_an_embedded_chart_shows_published_figures_even_to_a_reader_inside_the_group(client, world):
    code = _nrw_code()
    user = get_user_model().objects.create_user("insider")
    Role.objects.create(user=user, kind="viewer", group=Group.objects.get(code="rasina"))
    client.force_login(user)
    response = client.get(f"/en/embed/indicators/{code}/ranking/?group=rasina&period=2023")
    assert response.status_code == 200 and response.context["view"].public is True
    # 2024 is still draft: nothing published to embed.
    assert (
        client.get(f"/en/embed/indicators/{code}/ranking/?group=rasina&period=2024").context["spec"]["data"]["values"]
        == []
    )


def test_the_table_words_the_rank_by_polarity_and_keeps_the_two_assessments_apart(client, world):
    """Issue 19: no more "Rank 1 of 6, Poor" read as one verdict: "best of 6", and the
    assessment by the standard beside, not mixed with, the one in the group."""
    from municipium.benchmarks import bands

    code = _nrw_code()
    indicator, values, statistic = _stored(code, "pl-exchange", "2023")
    response = client.get(f"/en/indicators/{code}/?group=pl-exchange&period=2023")
    html = response.content.decode()
    assert '<th scope="col">By the standard</th>' in html and '<th scope="col">In the group</th>' in html
    ranked = [r for r in response.context["rows"] if r.value is not None]
    assert ranked[0].rank_text == f"best of {len(values)}" and ranked[-1].rank_text == f"last of {len(values)}"
    for row in ranked:
        assert row.standard == bands.standard_band(row.value, indicator)
        assert row.peer == bands.peer_band(row.value, indicator, statistic)
        cells = html[html.index(f'<tr data-unit="{row.unit.code}"') :]
        cells = cells[: cells.index("</tr>")]
        assert row.rank_text in cells
        assert row.standard.label in cells and row.peer.label in cells
    assert any(r.standard.band != r.peer.band for r in ranked)  # the case the issue saw
    # The chart's tooltip says the same words.
    assert [r["rank_text"] for r in response.context["specs"]["ranking"]["data"]["values"]] == [
        r.rank_text for r in ranked
    ]


def test_hostile_catalogue_texts_stay_text_in_both_downloads(client, world):
    from tests.test_spreadsheet_injection import HOSTILE, _formulas

    code = _nrw_code()
    indicator = Indicator.objects.get(code=code)
    indicator.name = {"en": HOSTILE[0]}
    indicator.definition = {"en": HOSTILE[1]}
    indicator.save()
    address = f"/en/indicators/{code}/data/?group=pl-exchange&period=2023"
    assert _formulas(client.get(address + "&format=xlsx").content) == []
    rows = list(csv.DictReader(io.StringIO(client.get(address + "&format=csv").content.decode("utf-8-sig"))))
    assert rows[0]["source"].startswith("'=HYPERLINK") and rows[0]["indicator_name"].startswith("'=")


@pytest.mark.parametrize("language", ["en", "fa"])
def test_links_for_a_table_of_codes_are_what_reverse_gives(language):
    # The indicator page links its hundreds of members through profile_views.links, which
    # reverses once and puts each code in; any code must come out as reverse() has it.
    from django.urls import reverse
    from django.utils import translation

    from municipium.benchmarks.profile_views import links

    codes = ["RS-70670", "M00125", "a.b_c~d", "x y", "Čačak", "50%", ".", "..", "a:b", "q?x=1", "#"]
    with translation.override(language):
        for name in ("unit", "indicator"):
            link = links(name)
            assert [link(code) for code in codes] == [reverse(name, args=[code]) for code in codes]


def test_an_indicator_without_values_in_the_asked_group_says_so_instead_of_failing(client):
    # capex_per_capita_3y needs three published years: with the last one in draft, the
    # public has no value of it anywhere, and the page (asked with or without a group)
    # answered 500 reading the members of no period.
    build_world(years=(2022, 2023, 2024), groups=("rasina",), last_year_status="draft")
    for query in ("", "?group=rasina", "?group=rasina&unit=RS-70670"):
        response = client.get(f"/en/indicators/capex_per_capita_3y/{query}")
        assert response.status_code == 200
        assert "This indicator has no values to compare yet." in response.content.decode()
