"""API writes are not last-write-wins: a row carries the version its client read, a changed
observation is a 409 conflict showing both values, and submitted figures are locked for
data officers by the same rule as the entry form and the import page."""

from django.test import Client
from django.urls import reverse

from municipium.observations.models import Observation
from tests import factories as f
from tests.factories import person, stored_state

from .conftest import Api, obs_row, token_for


def read_version(api: Api, unit: str, variable: str, period: str) -> int:
    items = api.get(
        "/observations", {"unit": unit, "variable": variable, "period_from": period, "period_to": period}
    ).json()["items"]
    assert len(items) == 1
    return items[0]["version"]


def test_a_row_with_the_version_read_is_written_and_a_stale_one_is_a_conflict_showing_both_values(world):
    first = Api(token_for(person("officer_a", "officer", unit=world.a)))
    second = Api(token_for(person("coord", "coordinator", group=world.east)))
    version = read_version(first, "A", "produced", "2024")  # A's 2024 is a draft
    assert read_version(second, "A", "produced", "2024") == version
    saved = first.post("/observations", {"rows": [obs_row("A", "produced", 2024, 111, version=version)]})
    assert saved.status_code == 200, saved.content
    before = stored_state()
    late = second.post(
        "/observations",
        {
            "rows": [
                obs_row("A", "billed", 2024, 70, version=version),
                obs_row("A", "produced", 2024, 222, version=version),
            ]
        },
    )
    assert late.status_code == 409, late.content
    body = late.json()
    assert "nothing was stored" in body["detail"]
    [problem] = body["problems"]
    assert (problem["row"], problem["column"]) == (2, "version")
    assert problem["conflict"] == {
        "stored_value": 111.0,
        "stored_missing": "",
        "stored_status": "draft",
        "stored_version": version + 1,
        "sent_value": 222.0,
        "sent_missing": "",
        "sent_version": version,
    }
    assert stored_state() == before  # the good first row was not stored either
    again = second.post("/observations", {"rows": [obs_row("A", "produced", 2024, 222, version=version + 1)]})
    assert (
        again.status_code == 200
        and Observation.objects.get(unit=world.a, variable=world.produced, period__code="2024").value == 222
    )


def test_resending_what_is_stored_is_no_conflict_and_version_0_means_not_seen(world):
    api = Api(token_for(person("officer_a", "officer", unit=world.a)))
    version = read_version(api, "A", "produced", "2024")
    assert api.post("/observations", {"rows": [obs_row("A", "produced", 2024, 5, version=version)]}).status_code == 200
    retry = api.post("/observations", {"rows": [obs_row("A", "produced", 2024, 5, version=version)]})
    assert retry.status_code == 200 and retry.json()["unchanged"] == 1
    assert api.post("/observations", {"rows": [obs_row("A", "produced", 2030, 5, version=0)]}).status_code == 200
    taken = api.post("/observations", {"rows": [obs_row("A", "produced", 2030, 6, version=0)]})
    assert taken.status_code == 409 and taken.json()["problems"][0]["conflict"]["stored_version"] == 1


def test_rows_without_version_write_new_and_draft_figures_only(world):
    admin = Api(token_for(person("root", "admin")))
    assert admin.post("/observations", {"rows": [obs_row("A", "produced", 2024, 1)]}).status_code == 200
    assert admin.post("/observations", {"rows": [obs_row("A", "produced", 2031, 1)]}).status_code == 200
    before = stored_state()
    published = admin.post("/observations", {"rows": [obs_row("B", "produced", 2024, 1)]})
    assert published.status_code == 409
    assert "send the version" in published.json()["problems"][0]["message"]
    assert stored_state() == before
    version = read_version(admin, "B", "produced", "2024")
    fixed = admin.post(
        "/observations", {"rows": [obs_row("B", "produced", 2024, 1, status="published", version=version)]}
    )
    assert fixed.status_code == 200, fixed.content


def test_submitted_figures_are_locked_for_an_officers_token_as_on_the_entry_and_import_pages(world, settings, tmp_path):
    officer = person("officer_a", "officer", unit=world.a)
    f.write([f.row(world.a, world.produced, 2026, 10, status="submitted")])
    api = Api(token_for(officer))
    version = read_version(api, "A", "produced", "2026")
    before = stored_state()
    response = api.post(
        "/observations",
        {"rows": [obs_row("A", "billed", 2026, 3), obs_row("A", "produced", 2026, 11, version=version)]},
    )
    assert response.status_code == 403, response.content
    [problem] = response.json()["problems"]
    assert problem["row"] == 2 and "A, produced, 2026 is submitted" in problem["message"]
    # Sending it back as a draft with the same value would reopen it by the back door.
    demote = api.post("/observations", {"rows": [obs_row("A", "produced", 2026, 10, version=version)]})
    assert demote.status_code == 403
    assert stored_state() == before
    same = api.post("/observations", {"rows": [obs_row("A", "produced", 2026, 10, status="submitted")]})
    assert same.status_code == 200 and same.json()["unchanged"] == 1
    before = stored_state()

    # The same officer on the entry page: the figure is read-only; on the import page: refused.
    browser = Client()
    browser.force_login(officer)
    page = browser.get(reverse("entry", args=["A", "2026", world.produced.service_area.code]))
    assert page.status_code == 200 and produced_slot(page).locked
    settings.DATA_DIR = tmp_path
    upload = browser.post(reverse("import"), {"file": _file("unit,variable,period,value\nA,produced,2026,11\n")})
    assert "already submitted" in upload.content.decode()
    # The same value without a status would make it a draft again: refused too.
    upload = browser.post(reverse("import"), {"file": _file("unit,variable,period,value\nA,produced,2026,10\n")})
    assert "already submitted" in upload.content.decode()
    assert stored_state() == before

    # An administrator may correct it directly, on every path.
    admin = person("root", "admin")
    assert (
        Api(token_for(admin))
        .post("/observations", {"rows": [obs_row("A", "produced", 2026, 12, status="submitted", version=version)]})
        .status_code
        == 200
    )
    browser.force_login(admin)
    page = browser.get(reverse("entry", args=["A", "2026", world.produced.service_area.code]))
    assert not produced_slot(page).locked


def produced_slot(page):
    return next(slot for slot in page.context["sheet"].slots if slot.variable.code == "produced")


def _file(text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("figures.csv", text.encode("utf-8"), content_type="text/csv")
