"""A person logged in to the site is a real caller in the API from their browser: they read
what their roles allow, and write with Django's CSRF token and their write rights."""

import json

from django.test import Client

from tests.factories import stored_state

from .conftest import Api, obs_row, person, token_for

DRAFT_A = {"unit": "A", "period_from": "2024", "period_to": "2024"}  # A's 2024 is a draft


def browser(user=None) -> Client:
    """A browser that enforces CSRF as a real one is subject to, logged in as `user`, with
    the CSRF cookie a page of the site would have set."""
    client = Client(enforce_csrf_checks=True, HTTP_HOST="localhost")
    if user is not None:
        client.force_login(user)
    assert client.get("/en/login/").status_code == 200
    return client


def post(client: Client, body, csrf: bool = True):
    headers = {"X-CSRFToken": client.cookies["csrftoken"].value} if csrf else {}
    return client.post("/api/observations", json.dumps(body), content_type="application/json", headers=headers)


def test_a_logged_in_viewer_reads_the_unpublished_figures_of_their_groups_from_the_browser(world):
    viewer = browser(person("viewer_a", "viewer", unit=world.a))
    assert len(viewer.get("/api/observations", DRAFT_A).json()["items"]) == 2
    assert viewer.get("/api/indicator-values", DRAFT_A).json()["items"]
    assert not browser().get("/api/observations", DRAFT_A).json()["items"]  # the public, for comparison
    outsider = browser(person("viewer_c", "viewer", unit=world.c))
    assert not outsider.get("/api/observations", DRAFT_A).json()["items"]


def test_a_session_write_needs_the_csrf_token(world):
    officer = browser(person("officer_a", "officer", unit=world.a))
    rows = {"rows": [obs_row("A", "produced", 2024, 5)]}
    before = stored_state()
    refused = post(officer, rows, csrf=False)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert set(refused.json()) == {"detail", "problems"}
    assert stored_state() == before
    written = post(officer, rows)
    assert written.status_code == 200, written.content
    assert written.json()["created"] + written.json()["updated"] == 1


def test_a_session_writes_only_with_the_persons_write_rights(world):
    before = stored_state()
    rows = {"rows": [obs_row("A", "produced", 2024, 5)]}
    assert post(browser(person("viewer_a", "viewer", unit=world.a)), rows).status_code == 403
    assert post(browser(person("officer_c", "officer", unit=world.c)), rows).status_code == 403
    assert post(browser(), rows).status_code == 401  # not logged in: nobody to write as
    assert stored_state() == before


def test_a_token_still_decides_when_a_logged_in_browser_sends_one(world):
    client = browser(person("viewer_a", "viewer", unit=world.a))
    reader = token_for(person("viewer_c", "viewer", unit=world.c), scopes=("read",))
    response = client.get("/api/observations", DRAFT_A, headers={"Authorization": f"Bearer {reader}"})
    assert response.status_code == 200 and not response.json()["items"]
    assert Api(reader).get("/observations", DRAFT_A).status_code == 200


def test_a_session_has_its_own_request_budget(world, settings):
    settings.API_RATES = {"anon": None, "token": None, "session": "2/min"}
    viewer = browser(person("viewer_a", "viewer", unit=world.a))
    assert [viewer.get("/api/units").status_code for _ in range(3)] == [200, 200, 429]
    assert browser().get("/api/units").status_code == 200  # the public's budget is another
