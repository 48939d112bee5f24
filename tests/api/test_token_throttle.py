"""Failed token attempts from one address are counted in the database with the log-in
form's failures, and past the limit the address gets 429 with Retry-After."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from municipium.accounts.models import LoginAttempt

from .conftest import Api, person, token_for


@pytest.fixture
def limit(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_WINDOW = 600
    settings.LOGIN_TRUST_FORWARDED_FOR = True
    return settings


def from_address(secret: str, ip: str):
    return Api(secret).get("/units", headers={"X-Forwarded-For": ip})


def test_repeated_bad_tokens_from_one_address_are_refused_with_429_and_retry_after(world, limit):
    for _attempt in range(3):
        assert from_address("mpm_00000000_guess", "203.0.113.9").status_code == 401
    assert LoginAttempt.objects.filter(ip="203.0.113.9").count() == 3  # in the database: every app server sees them
    response = from_address("mpm_00000000_guess", "203.0.113.9")
    assert response.status_code == 429
    assert set(response.json()) == {"detail", "problems"} and "not valid" in response.json()["detail"]
    assert 590 <= int(response["Retry-After"]) <= 600


def test_a_valid_token_from_the_address_under_attack_is_refused_too_but_others_and_the_public_are_not(world, limit):
    good = token_for(person("officer_a", "officer", unit=world.a))
    for _attempt in range(3):
        from_address("mpm_00000000_guess", "203.0.113.9")
    assert from_address(good, "203.0.113.9").status_code == 429
    assert from_address(good, "198.51.100.7").status_code == 200
    assert Client().get("/api/units", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200  # no token


def test_the_limit_lifts_when_the_window_has_passed_and_login_failures_count_alike(world, limit):
    good = token_for(person("officer_a", "officer", unit=world.a))
    LoginAttempt.objects.bulk_create([LoginAttempt(username="ann", ip="203.0.113.9") for _ in range(3)])
    assert from_address(good, "203.0.113.9").status_code == 429
    LoginAttempt.objects.update(at=timezone.now() - dt.timedelta(seconds=601))
    assert from_address(good, "203.0.113.9").status_code == 200


def test_a_new_forwarded_for_each_time_gains_nothing_from_outside_the_trusted_proxies(world, limit):
    """Issue 20, item 6: 12 failures each claiming another X-Forwarded-For, then the right
    token: counted by the connecting address, so the throttle holds."""
    good = token_for(person("officer_x", "officer", unit=world.a))

    def stranger(token):
        api = Api(token)
        api.client.defaults["REMOTE_ADDR"] = "198.51.100.7"  # not a trusted proxy
        return api

    for n in range(12):
        stranger("mpm_00000000_guess").get("/units", headers={"X-Forwarded-For": f"203.0.113.{n}"})
    assert not LoginAttempt.objects.filter(ip__startswith="203.0.113.").exists()
    assert LoginAttempt.objects.filter(ip="198.51.100.7").count() >= 3
    assert stranger(good).get("/units", headers={"X-Forwarded-For": "203.0.113.200"}).status_code == 429


def test_behind_a_trusted_proxy_the_client_is_the_last_untrusted_hop(limit):
    from django.test import RequestFactory

    from municipium.accounts.throttle import client_ip

    limit.TRUSTED_PROXIES = ["10.0.0.0/8"]
    factory = RequestFactory()
    via_proxy = factory.get("/", HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.5, 10.0.0.3", REMOTE_ADDR="10.0.0.2")
    assert client_ip(via_proxy) == "203.0.113.5"
    forged = factory.get("/", HTTP_X_FORWARDED_FOR="not-an-address", REMOTE_ADDR="10.0.0.2")
    assert client_ip(forged) == "10.0.0.2"
    direct = factory.get("/", HTTP_X_FORWARDED_FOR="203.0.113.5", REMOTE_ADDR="198.51.100.7")
    assert client_ip(direct) == "198.51.100.7"
