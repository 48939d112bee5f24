"""Logging in: Argon2 hashes, and a throttle on repeated failures."""

import pytest
from django.contrib.auth.models import User

from municipium.accounts.models import LoginAttempt

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def officer():
    return User.objects.create_user("ana", password=PASSWORD)


def attempt(client, password, username="ana", ip="127.0.0.1"):
    return client.post("/en/login/", {"username": username, "password": password, "next": "/en/"}, REMOTE_ADDR=ip)


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


def test_the_admin_log_in_is_throttled_by_the_same_count(client, settings):
    # issue 20, item 1: 30 wrong passwords at /admin/login/ then the right one logged in.
    settings.LOGIN_FAILURE_LIMIT = 5
    User.objects.create_superuser("root", "root@example.org", PASSWORD)
    for _ in range(30):
        client.post("/admin/login/?next=/admin/", {"username": "root", "password": "wrong"})
    client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # back to the log-in page
    assert LoginAttempt.objects.filter(username="root").count() >= 5


def test_failures_on_the_admin_page_count_on_the_sites_page_too(client, officer, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/admin/login/", {"username": "ana", "password": "wrong"})
    assert attempt(client, PASSWORD).status_code == 429


def test_look_alike_spellings_of_a_name_share_one_count(client, officer, settings):
    # issue 20, item 6: the form normalises "ａｎａ" (full-width) to "ana"; the count did not.
    settings.LOGIN_FAILURE_LIMIT = 3
    # From three addresses, so that only the name's count can stop the last attempt.
    for number, spelling in enumerate(("ａｎａ", "ａｎａ", "Ａｎａ"), start=1):
        attempt(client, "wrong", username=spelling, ip=f"192.0.2.{number}")
    assert attempt(client, PASSWORD, ip="192.0.2.9").status_code == 429
    assert "_auth_user_id" not in client.session
