"""The municipality report for the council: made and edited by the unit's people, read by
whoever may see its figures, downloaded as a PDF in the report's language."""

import re

import pytest
from django.utils import translation
from weasyprint.formatting_structure import boxes

from municipium.audit.models import AuditEvent
from municipium.benchmarks import charts, read
from municipium.benchmarks.models import Basis, GroupStatistic
from municipium.catalog.models import Indicator
from municipium.lib import numbers
from municipium.observations.models import Period
from municipium.reports import pdf
from municipium.reports.figures import sections
from municipium.reports.models import Chart, Report
from tests import derived
from tests.factories import person
from tests.pdf_pages import page_fill, page_texts
from tests.world import module_world

pytestmark = pytest.mark.django_db

UNIT = "RS-70670"  # Kruševac, in the Rasina group


def indicators_with_values(unit, period, count=2):
    """Indicators the unit and its group have a value for, in catalogue order."""
    valued = [r.indicator_id for r in derived.rows(unit=unit, period=period, basis=Basis.ALL, valued=True)]
    found = []
    for indicator in Indicator.objects.filter(pk__in=valued).order_by("service_area__order", "order"):
        if GroupStatistic.objects.filter(
            indicator=indicator, period=period, group__code="rasina", median__isnull=False
        ).exists():
            found.append(indicator)
        if len(found) == count:
            return found
    raise AssertionError("the world has too few indicators with values")


def _cast(world):
    world.kru = world.unit(UNIT)
    world.period = Period.objects.get(code="2024")
    world.rasina = world.group("rasina")
    world.chosen = indicators_with_values(world.kru, world.period)
    world.four = indicators_with_values(world.kru, world.period, count=4)


# One world for the module; each test's reports live in its own savepoint.
world = module_world(years=(2023, 2024), groups=("rasina",), prepare=_cast)


def make(client, world, **extra):
    data = {
        "title": "Services in 2024",
        "period": world.period.pk,
        "group": world.rasina.pk,
        "language": "en",
        "introduction": "For the council's May session.",
        "indicators": [str(i.pk) for i in world.chosen],
    }
    data.update(extra)
    return client.post(f"/en/reports/{UNIT}/", data)


def text_of(document) -> str:
    return " ".join(
        box.text for page in document.pages for box in page._page_box.descendants() if isinstance(box, boxes.TextBox)
    )


def test_an_officer_makes_a_report_and_the_page_shows_the_stored_value_and_the_group_median(client, world):
    client.force_login(person("officer", "officer", world.kru))
    response = make(client, world)
    report = Report.objects.get()
    assert response.status_code == 302 and response.url == f"/en/reports/{UNIT}/{report.pk}/"
    assert [e.indicator for e in report.ordered_entries()] == world.chosen
    event = AuditEvent.objects.get(model="reports.report")
    assert event.action == "create" and event.via == "form" and event.actor.username == "officer"
    assert [e["indicator"] for e in event.after["entries"]] == [i.code for i in world.chosen]

    page = client.get(response.url).content.decode()
    indicator = world.chosen[0]
    stored = derived.one(indicator=indicator, unit=world.kru, period=world.period, basis=Basis.ALL, breakdown="")
    median = GroupStatistic.objects.get(
        indicator=indicator, period=world.period, group=world.rasina, basis=Basis.ALL, breakdown=""
    ).median
    assert f'data-value="{stored.value}">{numbers.format_number(stored.value, indicator.decimals, "en")}' in page
    assert numbers.format_number(median, indicator.decimals, "en") in page
    own = next(r for r in read.ranks(indicator, world.period, world.rasina, public=False) if r.unit == world.kru)
    assert f"{own.rank} of {own.n}" in page
    assert 'data-chart="chart-1"' in page and 'id="chart-1"' in page and 'data-chart="chart-2"' in page
    assert "For the council&#x27;s May session." in page
    assert "style=" not in page and "<script>" not in page


def test_editing_saves_commentary_order_and_chart_and_audits_before_and_after(client, world):
    client.force_login(person("officer", "officer", world.kru))
    make(client, world)
    report = Report.objects.get()
    first, second = world.chosen
    response = client.post(
        f"/en/reports/{UNIT}/{report.pk}/",
        {
            "title": "Services in 2024, revised",
            "period": world.period.pk,
            "group": world.rasina.pk,
            "language": "pl",
            "introduction": "",
            "indicators": [str(first.pk), str(second.pk)],
            f"order_{first.pk}": 2,
            f"chart_{first.pk}": "series",
            f"commentary_{first.pk}": "Better than last year.",
            f"order_{second.pk}": 1,
            f"chart_{second.pk}": "ranking",
            f"commentary_{second.pk}": "Below the median.",
        },
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.title, report.language) == ("Services in 2024, revised", "pl")
    entries = report.ordered_entries()
    assert [(e.indicator, e.chart, e.commentary) for e in entries] == [
        (second, "ranking", "Below the median."),
        (first, "series", "Better than last year."),
    ]
    event = AuditEvent.objects.filter(model="reports.report", action="update").get()
    assert event.before["title"] == "Services in 2024" and event.after["title"] == "Services in 2024, revised"
    assert event.after["entries"][0]["commentary"] == "Below the median."
    page = client.get(f"/en/reports/{UNIT}/{report.pk}/").content.decode()
    assert page.index("Below the median.") < page.index("Better than last year.")


@pytest.mark.parametrize("who", ["anonymous", "outsider", "viewer elsewhere"])
def test_a_post_from_someone_not_authorised_is_404_and_saves_nothing(client, world, who):
    officer = person("officer", "officer", world.kru)
    client.force_login(officer)
    make(client, world)
    report = Report.objects.get()
    client.logout()
    if who == "outsider":
        client.force_login(person("outsider"))
    elif who == "viewer elsewhere":
        client.force_login(person("viewer", "viewer", world.unit("RS-70343")))
    events = AuditEvent.objects.count()
    assert make(client, world, title="Sneaked in").status_code == 404
    response = client.post(
        f"/en/reports/{UNIT}/{report.pk}/",
        {
            "title": "Defaced",
            "period": world.period.pk,
            "group": world.rasina.pk,
            "language": "en",
            "indicators": [str(world.chosen[0].pk)],
        },
    )
    assert response.status_code == 404
    assert list(Report.objects.values_list("title", flat=True)) == ["Services in 2024"]
    assert report.entries.count() == 2
    assert AuditEvent.objects.count() == events


def test_a_report_on_published_figures_is_public_but_only_the_unit_people_get_the_form(client, world):
    client.force_login(person("officer", "officer", world.kru))
    make(client, world)
    report = Report.objects.get()
    client.post(f"/en/reports/{UNIT}/{report.pk}/publish/", {"action": "publish"})
    client.logout()
    listing = client.get(f"/en/reports/{UNIT}/").content.decode()
    assert "Services in 2024" in listing and "New report" not in listing
    page = client.get(f"/en/reports/{UNIT}/{report.pk}/").content.decode()
    assert "Services in 2024" in page and "Edit the report" not in page
    assert client.get(f"/en/reports/{UNIT}/{report.pk}/report.pdf").status_code == 200
    assert client.get(f"/en/reports/RS-70343/{report.pk}/").status_code == 404  # another unit's address


def test_the_pdf_downloads_with_the_unit_name_and_the_value(client, world):
    client.force_login(person("officer", "officer", world.kru))
    make(client, world)
    report = Report.objects.get()
    response = client.get(f"/en/reports/{UNIT}/{report.pk}/report.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{UNIT}-2024-en.pdf"'
    assert response.content.startswith(b"%PDF") and len(response.content) > 10_000

    document = pdf.document(report, public=False)
    text = text_of(document)
    indicator = world.chosen[0]
    stored = read.value(indicator, world.kru, world.period, public=False).value
    assert "Kruševac" in text and "Services in 2024" in text
    # A draft says so on its cover; once published it does not.
    assert "Draft : not published yet." in text  # text boxes joined by spaces
    report.published_at = report.updated_at
    assert "Draft" not in text_of(pdf.document(report, public=False))
    assert numbers.format_number(stored, indicator.decimals, "en") in text
    html = pdf.html(report, public=False)
    assert html.count('src="data:image/png;base64,') == 2


def test_the_persian_pdf_is_right_to_left_with_persian_names_and_digits(client, world):
    client.force_login(person("officer", "officer", world.kru))
    make(client, world, language="fa")
    report = Report.objects.get()
    response = client.get(f"/en/reports/{UNIT}/{report.pk}/report.pdf")
    assert response["Content-Disposition"] == f'attachment; filename="{UNIT}-2024-fa.pdf"'
    html = pdf.html(report, public=False)
    assert '<html lang="fa" dir="rtl">' in html
    document = pdf.document(report, public=False)
    assert document.pages[0]._page_box.style["direction"] == "rtl"
    text = text_of(document)
    indicator = world.chosen[0]
    stored = read.value(indicator, world.kru, world.period, public=False).value
    assert "کروشواتس" in text
    assert numbers.format_number(stored, indicator.decimals, "fa") in text


def test_an_indicator_without_figures_shows_dashes_on_the_page_and_in_the_pdf(client, world):
    client.force_login(person("officer", "officer", world.kru))
    make(client, world)
    report = Report.objects.get()
    gone = world.chosen[0]
    derived.delete(indicator=gone)
    GroupStatistic.objects.filter(indicator=gone).delete()
    page = client.get(f"/en/reports/{UNIT}/{report.pk}/")
    assert page.status_code == 200 and 'data-value="">–' in page.content.decode()
    assert client.get(f"/en/reports/{UNIT}/{report.pk}/report.pdf").content.startswith(b"%PDF")


def test_a_report_fills_its_pages_instead_of_starting_each_indicator_on_a_new_one(client, world):
    """Issue 19, item 5: each indicator was kept whole, so most pages ended half empty."""
    client.force_login(person("officer", "officer", world.kru))
    make(client, world, indicators=[str(i.pk) for i in world.four])
    document = pdf.document(Report.objects.get(), public=False)
    fill = page_fill(document)
    assert len(document.pages) < len(world.four)
    assert all(share > 0.6 for share in fill[:-1]), fill
    # A chart is never cut in two: each image lies on one page.
    images = [
        b for page in document.pages for b in page._page_box.descendants() if isinstance(b, boxes.InlineReplacedBox)
    ]
    assert len(images) == len(world.four)


def test_the_persian_pdf_has_persian_digits_and_separators_and_isolated_chart_titles(client, world):
    """Issue 19, item 4: no Latin digits (the date), no middle dot (read as a Persian zero),
    chart titles and subtitle lines isolated as right-to-left text for the server's renderer
    (it drew a two-line Persian subtitle over itself), the years of a time chart in Persian."""
    client.force_login(person("officer", "officer", world.kru))
    make(client, world, language="fa", title="خدمات ۱۴۰۳", introduction="برای شورا.")
    report = Report.objects.get()
    series = report.ordered_entries()[1]
    series.chart = Chart.SERIES
    series.save()
    text = " ".join(page_texts(pdf.document(report, public=False)))
    assert "کروشواتس، ۲۰۲۴" in text and "·" not in text
    assert not re.findall(r"[^\s]*[0-9][^\s]*", text)

    with translation.override("fa"):
        ranking_spec, series_spec = (section.spec for section in sections(report, public=False))
    drawn = charts.for_server(ranking_spec, "fa")
    lines = drawn["title"]["subtitle"]
    assert len(lines) == 2 and all(line.startswith(charts.RLI) and line.endswith(charts.PDI) for line in lines)
    assert drawn["title"]["text"] == charts.RLI + ranking_spec["title"]["text"] + charts.PDI
    assert charts.for_server(ranking_spec, "en")["title"] == ranking_spec["title"]
    assert series_spec["layer"][0]["encoding"]["x"]["scale"]["domain"] == ["۲۰۲۳", "۲۰۲۴"]
    # The value axis stands on the right; its title is kept clear of its Persian labels.
    assert series_spec["layer"][0]["encoding"]["y"]["axis"]["orient"] == "right"
    assert charts.for_server(series_spec, "fa")["config"]["axisRight"]["titlePadding"] >= 14
    assert "axisRight" not in charts.for_server(series_spec, "en")["config"]


READERS = {
    "anonymous": None,
    "outsider": ("outsider", None, None),
    "viewer inside the group": ("neighbour", "viewer", "RS-70343"),
}


def _reader(client, world, who):
    client.logout()
    if READERS[who]:
        name, role, unit = READERS[who]
        client.force_login(person(name, role, world.unit(unit)) if role else person(name))


@pytest.mark.parametrize("who", list(READERS))
def test_a_new_report_is_a_draft_that_only_the_unit_people_read(client, world, who):
    officer = person("officer", "officer", world.kru)
    client.force_login(officer)
    make(client, world, introduction="Not for the press before the session.")
    report = Report.objects.get()
    assert report.published_at is None and not report.is_published
    page = client.get(f"/en/reports/{UNIT}/{report.pk}/").content.decode()
    assert 'id="report-state"' in page and "Draft" in page and 'value="publish"' in page
    listing = client.get(f"/en/reports/{UNIT}/").content.decode()
    assert "Services in 2024" in listing and "text-bg-warning" in listing

    _reader(client, world, who)
    assert client.get(f"/en/reports/{UNIT}/{report.pk}/").status_code == 404
    assert client.get(f"/en/reports/{UNIT}/{report.pk}/report.pdf").status_code == 404
    listing = client.get(f"/en/reports/{UNIT}/").content.decode()
    assert "Services in 2024" not in listing and "Not for the press" not in listing


def test_publishing_makes_the_introduction_public_and_back_to_draft_hides_it_again_both_audited(client, world):
    officer = person("officer", "officer", world.kru)
    client.force_login(officer)
    make(client, world, introduction="For the council's May session.")
    report = Report.objects.get()
    address = f"/en/reports/{UNIT}/{report.pk}/"
    response = client.post(address + "publish/", {"action": "publish"})
    assert response.status_code == 302 and response.url == address
    report.refresh_from_db()
    assert report.is_published
    event = AuditEvent.objects.get(model="reports.report", action="publish")
    assert event.actor == officer and event.via == "form" and event.before["published_at"] is None
    assert event.after["published_at"] is not None
    assert 'value="unpublish"' in client.get(address).content.decode()

    client.logout()
    page = client.get(address).content.decode()
    assert "For the council&#x27;s May session." in page and 'id="report-state"' not in page
    assert "Services in 2024" in client.get(f"/en/reports/{UNIT}/").content.decode()

    client.force_login(officer)
    client.post(address + "publish/", {"action": "unpublish"})
    report.refresh_from_db()
    assert not report.is_published
    assert AuditEvent.objects.filter(model="reports.report", action="unpublish", actor=officer).count() == 1
    client.logout()
    assert client.get(address).status_code == 404


@pytest.mark.parametrize("who", list(READERS))
def test_only_the_unit_people_may_publish_a_report(client, world, who):
    client.force_login(person("officer", "officer", world.kru))
    make(client, world)
    report = Report.objects.get()
    client.post(f"/en/reports/{UNIT}/{report.pk}/publish/", {"action": "publish"})
    _reader(client, world, who)
    events = AuditEvent.objects.count()
    response = client.post(f"/en/reports/{UNIT}/{report.pk}/publish/", {"action": "unpublish"})
    assert response.status_code == 404
    report.refresh_from_db()
    assert report.is_published and AuditEvent.objects.count() == events
    assert client.get(f"/en/reports/{UNIT}/{report.pk}/publish/").status_code in (404, 405)


def test_reports_made_before_drafts_existed_stay_published(world):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("municipium.reports.migrations.0002_report_published_at")
    report = Report.objects.create(unit=world.kru, title="Old", period=world.period, group=world.rasina)
    assert report.published_at is None
    migration.published_as_before(apps, None)
    report.refresh_from_db()
    assert report.published_at == report.updated_at


def test_the_persian_report_form_lists_the_periods_in_persian_digits(client, world):
    client.force_login(person("officer", "officer", world.kru))
    page = client.get(f"/fa/reports/{UNIT}/").content.decode()
    assert re.search(r'<option value="\d+"[^>]*>۲۰۲۴</option>', page) and ">2024</option>" not in page
