"""Requests only tools send are refused cleanly, never with a 500 (issue 20, item 10)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "address",
    ["/en/search/?q=kru%00sevac", "/en/compare/?group=%00", "/api/units?kind=muni%00cipality", "/en/units/RS%0070670/"],
)
def test_a_nul_character_in_a_request_is_a_clear_400_not_a_server_error(client, address):
    response = client.get(address)
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_a_nul_character_in_a_form_field_is_refused_too(client):
    response = client.post("/en/login/", {"username": "ana\x00", "password": "x"})
    assert response.status_code == 400
