"""Logging in: Argon2 hashes, and a throttle on repeated failures."""

import pytest
from django.contrib.auth.models import User

from municipium.accounts.models import LoginAttempt

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def officer():
    return User.objects.create_user("ana", password=PASSWORD)


def attempt(client, password, username="ana"):
    return client.post("/en/login/", {"username": username, "password": password, "next": "/en/"})


def test_passwords_are_stored_as_argon2_hashes(officer):
    assert officer.password.startswith("argon2$")


def test_the_right_password_logs_in(client, officer):
    response = attempt(client, PASSWORD)
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(officer.pk)


def test_after_five_failures_even_the_right_password_is_refused_for_a_while(client, officer, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    for _ in range(5):
        assert attempt(client, "wrong").status_code == 200
    response = attempt(client, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert LoginAttempt.objects.filter(username="ana").count() == 5


def test_failures_count_per_address_too_so_guessing_many_names_is_throttled(client, officer, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for name in ("a", "b", "c"):
        attempt(client, "wrong", username=name)
    assert attempt(client, PASSWORD).status_code == 429


def test_old_failures_no_longer_count(client, officer, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    attempt(client, "wrong")
    attempt(client, "wrong")
    LoginAttempt.objects.update(at="2000-01-01T00:00:00Z")
    assert attempt(client, PASSWORD).status_code == 302
