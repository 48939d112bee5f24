"""Requests only tools send are refused cleanly, never with a 500 (issue 20, item 10)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "address", ["/pl/search/?q=kru%00sevac", "/pl/compare/?group=%00", "/pl/units/RS%0070670/", "/pl/?x%00=1"]
)
def test_a_nul_character_in_a_page_address_is_not_found_never_a_server_error(client, address):
    response = client.get(address)
    assert response.status_code == 404
    assert "Nie znaleziono strony" in response.content.decode()  # the reader's language, with a way on


def test_the_api_answers_a_nul_character_in_its_own_error_shape(client):
    response = client.get("/api/units", {"kind": "muni\x00cipality"})
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")
    assert response.json()["problems"] == [] and "NUL" in response.json()["detail"]


def test_a_nul_character_in_a_form_field_is_refused_too(client):
    response = client.post("/en/login/", {"username": "ana\x00", "password": "x"})
    assert response.status_code == 400


def test_pages_for_a_signed_in_person_are_not_stored_and_public_pages_may_be(client):
    # issue 20, item 11 (ASVS level 2): no signed-in page in a shared computer's cache.
    from tests.factories import person

    assert "no-store" not in client.get("/en/").get("Cache-Control", "")
    client.force_login(person("someone"))
    assert client.get("/en/").headers["Cache-Control"] == "no-store, private"


def test_a_session_ends_after_half_an_hour_without_a_request_and_every_request_renews_it(settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST


def test_passwords_need_twelve_characters_and_must_not_be_a_common_one():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("short-pass1", "password1234", "123456789012"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("a long and quite unusual sentence")
